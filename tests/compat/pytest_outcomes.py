"""Outcomes of a verbose unittest / `python -m test -v` log: one line per test,
"<test id> <outcome>", sorted. Outcomes: ok, FAIL, ERROR, skipped, xfail, xpass.
A result may follow on a later line when the test printed something in between.
Usage: pytest_outcomes.py LOG"""
import re
import sys

START = re.compile(r'^(\w+) \(([\w.]+)\)(?: \.\.\. (.*))?$')
RESULT = {
    'ok': 'ok', 'FAIL': 'FAIL', 'ERROR': 'ERROR', 'expected failure': 'xfail',
    'unexpected success': 'xpass',
}


def outcome(text):
    text = text.strip()
    if text in RESULT:
        return RESULT[text]
    if text.startswith('skipped'):
        return 'skipped'
    return None


def main(path):
    found = {}
    pending = None
    with open(path, errors='replace') as f:
        for line in f:
            line = line.rstrip('\n')
            m = START.match(line)
            if m:
                # 3.11 prints (module.Class.method), older ones (module.Class)
                pending = m.group(2)
                if not pending.endswith('.' + m.group(1)):
                    pending += '.' + m.group(1)
                res = outcome(m.group(3) or '') if m.group(3) is not None else None
                if res:
                    found[pending] = res
                    pending = None
                continue
            if pending:
                tail = line.rsplit(' ... ', 1)[-1]
                res = outcome(tail)
                if res:
                    found[pending] = res
                    pending = None
    for k in sorted(found):
        print(k, found[k])


if __name__ == '__main__':
    main(sys.argv[1])
