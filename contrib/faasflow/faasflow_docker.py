"""Start FaaSFlow function containers with the faasflow-shm shared-memory transport.

FaaSFlow's worker starts each function container with

    client.containers.run(image_name, detach=True, ports={'5000/tcp': str(port)},
                          labels=['workflow'])

`run_container(client, image_name, ...)` takes the same arguments and adds what the
deployment guide (section 2.1) says the program adds by itself: the region file mounted
at the same path, the socket directory mounted, LD_PRELOAD of the shim and the
FAASFLOW_* settings. With ENABLE_SHARED_MEMORY = False in FaaSFlow's config it starts the
container exactly as before.

The configuration is FaaSFlow's config module (config/config.py) or any object with
these attributes; every one is optional:

    ENABLE_SHARED_MEMORY = True                   # guide 1.1
    SHM_SIZE = 1024 * 1024 * 1024                 # guide 1.1 (used by faasflowd, on the host)
    SHM_FILE_PATH = '/tmp/faasflow_shm'           # guide 1.1
    SOCKET_DIR = '/tmp'                           # coordinator sockets
    FAASFLOW_SHIM = '/usr/local/lib/libfaasflow_intercept.so'   # mounted read-only
    FAASFLOW_MOUNT_SHIM = True                    # False: the image has the shim already
    THRESHOLD, PEERS, TENANT, LOG_LEVEL           # passed on as FAASFLOW_<KEY>
"""

import os

DEFAULTS = {
    'ENABLE_SHARED_MEMORY': True,
    'SHM_FILE_PATH': '/tmp/faasflow_shm',
    'SOCKET_DIR': '/tmp',
    'FAASFLOW_SHIM': '/usr/local/lib/libfaasflow_intercept.so',
    'FAASFLOW_MOUNT_SHIM': True,
}

# Keys the shim reads, passed on to the container as FAASFLOW_<KEY> when configured.
SHIM_KEYS = ('SHM_FILE_PATH', 'SOCKET_DIR', 'THRESHOLD', 'PEERS', 'TENANT', 'LOG_LEVEL')


def _get(config, key):
    if config is not None and hasattr(config, key):
        return getattr(config, key)
    return DEFAULTS.get(key)


def _mount(target, source, read_only=False):
    """A bind mount in the shape docker-py expects (docker.types.Mount when available)."""
    try:
        from docker.types import Mount
    except ImportError:
        return {'Target': target, 'Source': source, 'Type': 'bind', 'ReadOnly': read_only}
    return Mount(target, source, type='bind', read_only=read_only)


def _env_dict(environment):
    if environment is None:
        return {}
    if isinstance(environment, dict):
        return dict(environment)
    env = {}
    for item in environment:
        key, sep, value = item.partition('=')
        env[key] = value if sep else None
    return env


def _append_preload(current, shim):
    parts = [p for p in (current or '').replace(' ', ':').split(':') if p]
    if shim not in parts:
        parts.append(shim)
    return ':'.join(parts)


def container_options(config=None, name=None, options=None):
    """Return a copy of the keyword arguments `options` for containers.run() with the
    faasflow-shm mounts, LD_PRELOAD and FAASFLOW_* environment added."""
    opts = dict(options or {})
    if not _get(config, 'ENABLE_SHARED_MEMORY'):
        return opts
    region = _get(config, 'SHM_FILE_PATH')
    sockets = _get(config, 'SOCKET_DIR')
    shim = _get(config, 'FAASFLOW_SHIM')

    mounts = list(opts.get('mounts') or [])
    taken = {m['Target'] for m in mounts}
    wanted = [(region, region, False), (sockets, sockets, False)]
    if _get(config, 'FAASFLOW_MOUNT_SHIM'):
        wanted.append((shim, shim, True))
    for target, source, read_only in wanted:
        if target not in taken:
            mounts.append(_mount(target, source, read_only))
            taken.add(target)
    opts['mounts'] = mounts

    env = _env_dict(opts.get('environment'))
    for key in SHIM_KEYS:
        value = _get(config, key)
        if value is not None:
            env.setdefault('FAASFLOW_' + key, str(value))
    env['LD_PRELOAD'] = _append_preload(env.get('LD_PRELOAD'), shim)
    if name:
        env.setdefault('FAASFLOW_NAME', name)
    opts['environment'] = env
    return opts


def run_container(client, image_name, config=None, name=None, **options):
    """client.containers.run(image_name, **options) with faasflow-shm added.

    name: optional endpoint name of the function's listener (FAASFLOW_NAME), for PEERS
    entries of the form name@host:port (a connection through a published port)."""
    return client.containers.run(image_name, **container_options(config, name, options))


def check_host(config=None):
    """The guide's section 4 checks, on the host: a list of problems (empty: ready)."""
    problems = []
    if not _get(config, 'ENABLE_SHARED_MEMORY'):
        return problems
    region = _get(config, 'SHM_FILE_PATH')
    sockets = _get(config, 'SOCKET_DIR')
    tenant = _get(config, 'TENANT') or 'default'
    sock = os.path.join(sockets, 'faasflow_container_%s.sock' % tenant)
    if not os.path.isfile(region):
        problems.append('region %s does not exist: is faasflowd running?' % region)
    if not os.path.exists(sock):
        problems.append('coordinator socket %s does not exist: is faasflowd running?' % sock)
    if _get(config, 'FAASFLOW_MOUNT_SHIM') and not os.path.isfile(_get(config, 'FAASFLOW_SHIM')):
        problems.append('shim %s not found: install faasflow-shm or set FAASFLOW_SHIM'
                        % _get(config, 'FAASFLOW_SHIM'))
    return problems
