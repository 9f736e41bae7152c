"""contrib/faasflow: the helper adds the region and socket mounts, the shim and the
FAASFLOW_* settings to FaaSFlow's containers.run() call (tested with a fake Docker
client), and worker.patch applies to the call it replaces."""
import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import types
import unittest

TOP = os.environ['top_srcdir']
HERE = os.path.join(TOP, 'contrib', 'faasflow')
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import faasflow_docker  # noqa: E402


class FakeContainers:
    def __init__(self):
        self.calls = []

    def run(self, image, **kwargs):
        self.calls.append((image, kwargs))
        return 'container-%d' % len(self.calls)


class FakeClient:
    def __init__(self):
        self.containers = FakeContainers()


def faasflow_call(client, config, **extra):
    """FaaSFlow's call, through the helper."""
    return faasflow_docker.run_container(client, 'img', config=config, detach=True,
                                         ports={'5000/tcp': '18000'}, labels=['workflow'],
                                         **extra)


def mounts(kwargs):
    return {m['Target']: (m['Source'], m['Type'], m['ReadOnly']) for m in kwargs['mounts']}


class Helper(unittest.TestCase):
    def test_guide_defaults(self):
        client = FakeClient()
        cfg = types.SimpleNamespace(ENABLE_SHARED_MEMORY=True, SHM_SIZE=1 << 30,
                                    SHM_FILE_PATH='/tmp/faasflow_shm')
        self.assertEqual(faasflow_call(client, cfg, name='fn-18000'), 'container-1')
        image, kw = client.containers.calls[0]
        self.assertEqual(image, 'img')
        # FaaSFlow's own arguments are untouched
        self.assertEqual(kw['ports'], {'5000/tcp': '18000'})
        self.assertEqual(kw['labels'], ['workflow'])
        self.assertIs(kw['detach'], True)
        shim = '/usr/local/lib/libfaasflow_intercept.so'
        self.assertEqual(mounts(kw), {
            '/tmp/faasflow_shm': ('/tmp/faasflow_shm', 'bind', False),
            '/tmp': ('/tmp', 'bind', False),
            shim: (shim, 'bind', True),
        })
        env = kw['environment']
        self.assertEqual(env['LD_PRELOAD'], shim)
        self.assertEqual(env['FAASFLOW_SHM_FILE_PATH'], '/tmp/faasflow_shm')
        self.assertEqual(env['FAASFLOW_SOCKET_DIR'], '/tmp')
        self.assertEqual(env['FAASFLOW_NAME'], 'fn-18000')
        self.assertNotIn('cap_add', kw)

    def test_custom_paths_and_keys(self):
        client = FakeClient()
        cfg = types.SimpleNamespace(ENABLE_SHARED_MEMORY=True,
                                    SHM_FILE_PATH='/dev/shm/ff/region', SOCKET_DIR='/run/ff',
                                    FAASFLOW_SHIM='/opt/ff/shim.so', FAASFLOW_MOUNT_SHIM=False,
                                    THRESHOLD='128K', PEERS='*', TENANT='wf1')
        faasflow_call(client, cfg)
        _, kw = client.containers.calls[0]
        self.assertEqual(set(mounts(kw)), {'/dev/shm/ff/region', '/run/ff'})
        env = kw['environment']
        self.assertEqual(env['LD_PRELOAD'], '/opt/ff/shim.so')
        self.assertEqual(env['FAASFLOW_THRESHOLD'], '128K')
        self.assertEqual(env['FAASFLOW_TENANT'], 'wf1')
        self.assertEqual(env['FAASFLOW_SOCKET_DIR'], '/run/ff')
        self.assertNotIn('FAASFLOW_NAME', env)

    def test_keeps_callers_mounts_and_environment(self):
        client = FakeClient()
        cfg = types.SimpleNamespace(ENABLE_SHARED_MEMORY=True)
        work = {'Target': '/proxy/exec', 'Source': '/var/ff/1', 'Type': 'bind', 'ReadOnly': False}
        region = {'Target': '/tmp/faasflow_shm', 'Source': '/elsewhere', 'Type': 'bind',
                  'ReadOnly': False}
        faasflow_call(client, cfg, mounts=[work, region],
                      environment=['A=1', 'LD_PRELOAD=/lib/x.so', 'FAASFLOW_SOCKET_DIR=/mine'])
        _, kw = client.containers.calls[0]
        m = mounts(kw)
        self.assertEqual(m['/proxy/exec'][0], '/var/ff/1')
        self.assertEqual(m['/tmp/faasflow_shm'][0], '/elsewhere', 'caller mount replaced')
        self.assertEqual(len(kw['mounts']), 4)
        env = kw['environment']
        self.assertEqual(env['A'], '1')
        self.assertEqual(env['LD_PRELOAD'], '/lib/x.so:/usr/local/lib/libfaasflow_intercept.so')
        self.assertEqual(env['FAASFLOW_SOCKET_DIR'], '/mine', 'caller setting overridden')

    def test_disabled_is_plain_faasflow(self):
        client = FakeClient()
        faasflow_call(client, types.SimpleNamespace(ENABLE_SHARED_MEMORY=False))
        _, kw = client.containers.calls[0]
        self.assertEqual(kw, {'detach': True, 'ports': {'5000/tcp': '18000'},
                              'labels': ['workflow']})

    def test_no_config_uses_the_guide_defaults(self):
        opts = faasflow_docker.container_options(None, None, {'detach': True})
        self.assertIn('/tmp/faasflow_shm', mounts(opts))

    def test_check_host(self):
        d = tempfile.mkdtemp()
        try:
            cfg = types.SimpleNamespace(SHM_FILE_PATH=os.path.join(d, 'shm'), SOCKET_DIR=d,
                                        FAASFLOW_SHIM=os.path.join(d, 'shim.so'))
            problems = faasflow_docker.check_host(cfg)
            self.assertEqual(len(problems), 3, problems)
            self.assertTrue(any('faasflow_container_default.sock' in p for p in problems))
            for name in ('shm', 'faasflow_container_default.sock', 'shim.so'):
                open(os.path.join(d, name), 'w').close()
            self.assertEqual(faasflow_docker.check_host(cfg), [])
        finally:
            shutil.rmtree(d)


class Patch(unittest.TestCase):
    def test_patch_applies_and_calls_the_helper(self):
        """Rebuild the patched file's old lines from the hunks (context and removed lines,
        filler elsewhere), apply the patch, and check the result is Python that calls the
        helper with FaaSFlow's arguments."""
        if not shutil.which('patch'):
            self.skipTest('patch not installed')
        with open(os.path.join(HERE, 'worker.patch')) as f:
            text = f.read()
        old = []
        for m in re.finditer(r'^@@ -(\d+),(\d+) \+\d+,\d+ @@\n((?:[ +-].*\n?)*)', text, re.M):
            start = int(m.group(1))
            while len(old) < start - 1:
                old.append('# filler\n')
            body = [l for l in m.group(3).splitlines(True) if l[:1] in (' ', '-')]
            self.assertEqual(len(body), int(m.group(2)), 'hunk line count')
            old.extend(l[1:] if l[1:] else '\n' for l in body)
        self.assertTrue(any('client.containers.run(' in l for l in old))
        d = tempfile.mkdtemp()
        try:
            with open(os.path.join(d, 'container.py'), 'w') as f:
                f.writelines(old)
            r = subprocess.run(['patch', '-p1', '--fuzz=0', '-i', os.path.join(HERE, 'worker.patch')],
                               cwd=d, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            with open(os.path.join(d, 'container.py')) as f:
                new = f.read()
        finally:
            shutil.rmtree(d)
        # the method the patch changes, on its own (the rest of the file is filler)
        method = new[new.index('    def create('):]
        method = method[:method.index('return res') + len('return res')]
        tree = ast.parse(textwrap.dedent(method))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and isinstance(n.func, ast.Attribute) and n.func.attr == 'run_container']
        self.assertEqual(len(calls), 1)
        kws = {k.arg for k in calls[0].keywords}
        self.assertTrue({'detach', 'ports', 'labels', 'config'} <= kws, kws)
        self.assertNotIn('client.containers.run(', new)


if __name__ == '__main__':
    unittest.main(verbosity=2)
