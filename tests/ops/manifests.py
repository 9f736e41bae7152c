"""The Kubernetes manifests and the compose file parse and have the expected structure:
kinds, hostPath volumes mounted where the configuration says, the entrypoint and the
environment that preload the shim."""
import os
import re
import sys

try:
    import yaml
except ImportError:
    print('SKIP: python3-yaml is not installed (apt-get install python3-yaml)')
    sys.exit(77)

top = os.environ['top_srcdir']
contrib = os.path.join(top, 'contrib')
failures = []


def check(cond, what):
    print(('ok: ' if cond else 'FAIL: ') + what)
    if not cond:
        failures.append(what)


def load_all(rel):
    with open(os.path.join(contrib, rel)) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def config_keys():
    """Configuration keys named in common/config.h (struct ff_config comments)."""
    with open(os.path.join(top, 'common', 'config.h')) as f:
        text = f.read()
    block = text[text.index('struct ff_config {'):]
    block = block[:block.index('};')]
    return set(re.findall(r'/\* ([A-Z][A-Z_]+)\b', block))


def parse_conf(text):
    conf = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        key, _, value = line.partition('=')
        conf[key.strip().upper()] = value.strip().strip('\'"')
    return conf


def dockerfile():
    with open(os.path.join(contrib, 'docker', 'Dockerfile')) as f:
        return f.read()


def mounts_of(container):
    return {m['name']: m['mountPath'] for m in container.get('volumeMounts', [])}


def host_paths(pod_spec):
    return {v['name']: v['hostPath']['path'] for v in pod_spec.get('volumes', [])
            if 'hostPath' in v}


def env_of(container):
    return {e['name']: e.get('value') for e in container.get('env', [])}


# --- Kubernetes: the coordinator --------------------------------------------------
docs = load_all('kubernetes/faasflowd-daemonset.yaml')
kinds = {d['kind']: d for d in docs}
check(set(kinds) == {'Namespace', 'ConfigMap', 'DaemonSet'},
      'daemonset file has Namespace, ConfigMap, DaemonSet (got %s)' % sorted(kinds))
ds = kinds['DaemonSet']
check(ds['apiVersion'] == 'apps/v1', 'DaemonSet apiVersion apps/v1')
spec = ds['spec']['template']['spec']
check(ds['spec']['selector']['matchLabels'].items() <=
      ds['spec']['template']['metadata']['labels'].items(), 'DaemonSet selector matches its pods')
(daemon,) = spec['containers']
check(daemon['command'][0].endswith('/faasflowd'), 'DaemonSet runs faasflowd')
hp = host_paths(spec)
check(set(hp) >= {'region', 'sockets'}, 'DaemonSet has hostPath volumes region and sockets')
dm = mounts_of(daemon)
check(set(dm) >= {'region', 'sockets', 'config'}, 'faasflowd mounts region, sockets, config')
conf = parse_conf(kinds['ConfigMap']['data']['faasflow.conf'])
known = config_keys()
check(len(known) >= 18, 'found the configuration keys in config.h (%d)' % len(known))
check(set(conf) <= known, 'ConfigMap uses only known keys (unknown: %s)' % sorted(set(conf) - known))
check(os.path.dirname(conf.get('SHM_FILE_PATH', '')) == dm['region'],
      'SHM_FILE_PATH is inside the region mount')
check(conf.get('SOCKET_DIR') == dm['sockets'], 'SOCKET_DIR is the sockets mount')
check(re.match(r'^(127\.0\.0\.1|\[::1\]):\d+$', conf.get('METRICS_LISTEN', '127.0.0.1:1')),
      'metrics stay on loopback')
cfg_file = os.path.join(dm['config'], 'faasflow.conf')
check(cfg_file in daemon['command'] and env_of(daemon).get('FAASFLOW_CONFIG') == cfg_file,
      'faasflowd and faasflowctl read the mounted configuration')
check(daemon['securityContext'].get('allowPrivilegeEscalation') is False,
      'faasflowd cannot escalate privileges')

# --- Kubernetes: a function --------------------------------------------------------
docs = load_all('kubernetes/function-deployment.yaml')
check([d['kind'] for d in docs] == ['Deployment'], 'function file holds one Deployment')
dep = docs[0]
fspec = dep['spec']['template']['spec']
(fn,) = fspec['containers']
fhp = host_paths(fspec)
check(fhp.get('region') == hp['region'] and fhp.get('sockets') == hp['sockets'],
      'function pods mount the same host paths as the DaemonSet')
fm = mounts_of(fn)
check(fm.get('region') == dm['region'] and fm.get('sockets') == dm['sockets'],
      'function pods mount them at the same paths')
fenv = env_of(fn)
check(fenv.get('FAASFLOW_SHM_FILE_PATH') == conf['SHM_FILE_PATH'], 'function SHM_FILE_PATH matches')
check(fenv.get('FAASFLOW_SOCKET_DIR') == conf['SOCKET_DIR'], 'function SOCKET_DIR matches')
entry = fn['command'][0]
df = dockerfile()
check(re.search(r'^COPY contrib/docker/entrypoint\.sh %s$' % re.escape(entry), df, re.M),
      'function command is the entrypoint installed by the Dockerfile (%s)' % entry)
check(re.search(r'^COPY .*libfaasflow_intercept\.so %s$' % re.escape(fenv.get('FAASFLOW_SHIM', '')),
                df, re.M), 'FAASFLOW_SHIM is where the Dockerfile puts the shim')
check(len(fn.get('args', [])) > 0, 'the function command is passed to the entrypoint')

# --- docker compose ---------------------------------------------------------------
(compose,) = load_all('docker/docker-compose.yml')


def defaults(v):
    """A compose value with ${VAR:-default} substitutions, as compose resolves it when no
    such variable is set."""
    if isinstance(v, dict):
        return {k: defaults(x) for k, x in v.items()}
    if isinstance(v, list):
        return [defaults(x) for x in v]
    if isinstance(v, str):
        return re.sub(r'\$\{[A-Z_]+:-([^}]*)\}', r'\1', v)
    return v


check('name' not in compose and 'version' not in compose,
      'compose file has no top-level name/version (Debian\'s compose v1 rejects name, v2 '
      'ignores version)')
compose = defaults(compose)
services = compose['services']
check(set(services) == {'fn-a', 'fn-b'}, 'compose has two function containers')
names = set()
for name, svc in services.items():
    vols = {(v['source'], v['target']) for v in svc['volumes'] if v['type'] == 'bind'}
    check(('/tmp/faasflow_shm', '/tmp/faasflow_shm') in vols and ('/tmp', '/tmp') in vols,
          '%s mounts the region and /tmp like the guide' % name)
    check(svc['environment'].get('FAASFLOW_SHM_FILE_PATH') == '/tmp/faasflow_shm',
          '%s has FAASFLOW_SHM_FILE_PATH' % name)
    names.add(svc['environment'].get('FAASFLOW_NAME'))
    check('workflow' in svc.get('labels', []), '%s has the label workflow' % name)
    check(re.search(r'^FROM .* AS %s$' % svc['build']['target'], df, re.M),
          '%s builds a Dockerfile target that exists' % name)
    check('faasflowd' not in str(svc.get('command', '')), '%s does not run a coordinator' % name)
check(len(names) == 2 and None not in names, 'each function has its own FAASFLOW_NAME')
ports = [p.split(':')[0] for s in services.values() for p in s.get('ports', [])]
check(len(ports) == len(set(ports)), 'published host ports do not collide')

if failures:
    print('%d check(s) failed' % len(failures))
    sys.exit(1)
