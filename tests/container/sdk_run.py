#!/usr/bin/python3
"""Start a function container the way FaaSFlow's worker does, through
contrib/faasflow/faasflow_docker.py and the Python Docker SDK against the real engine
(DOCKER_HOST honoured), and print its name.

  sdk_run.py TOP_SRCDIR IMAGE NAME NETWORK REGION SOCKET_DIR SHIM CMD...
"""
import sys

sys.path.insert(0, sys.argv[1] + '/contrib/faasflow')
import docker                    # noqa: E402  (python3-docker)
import faasflow_docker           # noqa: E402


class Config:
    ENABLE_SHARED_MEMORY = True


def main():
    _, _, image, name, network, region, sockets, shim, *cmd = sys.argv
    cfg = Config()
    cfg.SHM_FILE_PATH = region
    cfg.SOCKET_DIR = sockets
    cfg.FAASFLOW_SHIM = shim            # mounted read-only at the same path
    client = docker.from_env()
    # FaaSFlow's own call, plus a name, a network and a command for the test
    c = faasflow_docker.run_container(client, image, config=cfg, name=name, detach=True,
                                      labels=['workflow'], network=network,
                                      command=cmd)
    c.rename(name)
    print(c.name)


if __name__ == '__main__':
    main()
