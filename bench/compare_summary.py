"""RESULT lines of bench/quality-speed.sh and bench/netns.sh, and their tables.

  compare_summary.py run METRICS_JSONL --round R --side S [--workers W]
      One coordinator run, from its metrics.jsonl: seconds per epoch (the median of the epochs' `train_seconds`
      after the first when there are several: the first holds the start-up; the first alone otherwise), examples per
      second over those epochs, the last epoch's mean loss (last_loss: the same recipe gives about the same loss on
      every side), and the end event's wire bytes and sparse minimum per step.
  compare_summary.py torch LOG --round R
      One bench/torch_mf.py run, from its `EPOCH …` lines, with the same rule for the epochs.
  compare_summary.py window BEFORE AFTER --round R --side S [--workers W] [--metrics METRICS_JSONL]
      A measured window of a run in progress: two scrapes of the coordinator's Prometheus metrics, each file starting
      with a line `# time=SECONDS` (when it was taken): examples per second, seconds per step and wire bytes per
      step between the two; with --metrics, also the sparse minimum per step of the run's end event.
  compare_summary.py summary LOG
      The RESULT lines of LOG as one table per worker count, round by round, with the medians: sides old, new and
      pytorch; ratios new/old and new/pytorch of examples per second, taken per round and then their median; the
      last epoch's loss of each side when the lines have it.
Each of the first three prints one line `RESULT round=R side=S workers=W key=value …` and fails with a message when
its input holds nothing to measure.
"""
import argparse, json, os, re, statistics, sys


def fail(message):
    sys.exit('compare_summary.py: ' + message)


def steady(epochs):
    """The epochs that count: all but the first when there are several."""
    return epochs[1:] if len(epochs) > 1 else epochs


def result_line(fields):
    return 'RESULT ' + ' '.join('%s=%s' % (k, v) for k, v in fields.items())


def from_metrics(path, round_, side, workers, need_epochs=True):
    epochs, end = [], None
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        fail('cannot read %s: %s' % (path, e))
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        if event.get('event') == 'epoch' and isinstance(event.get('train_seconds'), (int, float)) \
                and isinstance(event.get('examples'), int) and event['train_seconds'] > 0:
            epochs.append((event['epoch'], event['train_seconds'], event['examples'], event.get('loss')))
        elif event.get('event') == 'end':
            end = event
    if not epochs and need_epochs:
        fail('%s holds no finished training epoch' % path)
    fields = {'round': round_, 'side': side, 'workers': workers}
    if epochs:
        counted = steady(sorted(epochs))
        fields.update({'epochs': len(epochs), 'epoch_seconds': '%.3f' % statistics.median(c[1] for c in counted),
                       'examples_per_second': '%.1f' % (sum(c[2] for c in counted) / sum(c[1] for c in counted))})
        if isinstance(epochs[-1][3], (int, float)):
            fields['last_loss'] = '%.4f' % epochs[-1][3]
    if end and isinstance(end.get('steps'), int) and end['steps'] > 0:
        steps = end['steps']
        fields['steps'] = steps
        for key in ('wire_bytes_sent', 'wire_bytes_received', 'sparse_minimum_bytes_sent',
                    'sparse_minimum_bytes_received'):
            if isinstance(end.get(key), (int, float)):
                fields[key.replace('bytes_', 'bytes_per_step_')] = '%.0f' % (end[key] / steps)
    return fields


def from_torch(path, round_):
    epochs = []
    for line in open(path):
        m = re.match(r'EPOCH epoch=(\d+) loss=(\S+) examples=(\d+) train_seconds=([\d.]+)', line)
        if m and float(m[4]) > 0:
            epochs.append((int(m[1]), float(m[4]), int(m[3]), float(m[2])))
    if not epochs:
        fail('%s holds no EPOCH line of bench/torch_mf.py' % path)
    counted = steady(epochs)
    return {'round': round_, 'side': 'pytorch', 'workers': '-', 'epochs': len(epochs),
            'epoch_seconds': '%.3f' % statistics.median(c[1] for c in counted),
            'examples_per_second': '%.1f' % (sum(c[2] for c in counted) / sum(c[1] for c in counted)),
            'last_loss': '%.4f' % epochs[-1][3]}


def scrape(path):
    """(time, {metric with labels: value}) of a Prometheus text scrape written with a `# time=` first line."""
    values, when = {}, None
    for line in open(path):
        line = line.strip()
        m = re.match(r'# time=([\d.]+)$', line)
        if m:
            when = float(m[1])
        elif line and not line.startswith('#'):
            name, _, value = line.rpartition(' ')
            try:
                values[name.replace(' ', '')] = float(value)
            except ValueError:
                pass
    if when is None:
        fail('%s has no "# time=" line' % path)
    return when, values


def from_window(before, after, round_, side, workers, metrics=None):
    (t0, a), (t1, b) = scrape(before), scrape(after)
    def delta(name):
        if name not in a or name not in b:
            fail('%s is not in both scrapes (%s, %s)' % (name, before, after))
        return b[name] - a[name]
    seconds, steps, examples = t1 - t0, delta('mbt_steps_total'), delta('mbt_examples_total')
    if seconds <= 0 or steps <= 0:
        fail('no step was applied between the scrapes %s and %s' % (before, after))
    fields = {'round': round_, 'side': side, 'workers': workers, 'window_seconds': '%.1f' % seconds,
              'steps': '%.0f' % steps, 'step_seconds': '%.4f' % (seconds / steps),
              'examples_per_second': '%.1f' % (examples / seconds)}
    for direction in ('sent', 'received'):
        fields['wire_bytes_per_step_' + direction] = '%.0f' % (
            delta('mbt_wire_bytes_total{direction="%s"}' % direction) / steps)
    if metrics and os.path.exists(metrics):   # the sparse minimum per step, from the run's end event (it has no Prometheus counter)
        whole = from_metrics(metrics, round_, side, workers, need_epochs=False)
        for key in ('sparse_minimum_bytes_per_step_sent', 'sparse_minimum_bytes_per_step_received'):
            if key in whole:
                fields[key] = whole[key]
    return fields


def parse_log(path):
    rows = []
    for line in open(path):
        if line.startswith('RESULT '):
            rows.append(dict(f.split('=', 1) for f in line.split()[1:] if '=' in f))
    return rows


def summary(path):
    rows = parse_log(path)
    if not rows:
        fail('%s holds no RESULT line' % path)
    groups = sorted({r.get('workers', '-') for r in rows if r.get('side') != 'pytorch'})
    torch = {r['round']: r for r in rows if r.get('side') == 'pytorch'}
    for workers in groups:
        by_round = {}
        for r in rows:
            if r.get('side') in ('old', 'new') and r.get('workers', '-') == workers:
                by_round.setdefault(r['round'], {})[r['side']] = r
            elif r.get('side') == 'pytorch':
                by_round.setdefault(r['round'], {})
        by_round = {k: v for k, v in by_round.items() if v}
        has_torch = any(k in torch for k in by_round)
        has_epochs = any('epoch_seconds' in r for v in by_round.values() for r in v.values())
        print('\nworkers: %s' % workers)
        head = ['round']
        if has_epochs:
            head += ['old s/epoch', 'new s/epoch'] + (['PyTorch s/epoch'] if has_torch else [])
        head += ['old examples/s', 'new examples/s'] + (['PyTorch examples/s'] if has_torch else [])
        head += ['new/old'] + (['new/PyTorch'] if has_torch else [])
        head += ['old MB/step sent', 'new MB/step sent', 'old / sparse minimum', 'new / sparse minimum']
        has_loss = any('last_loss' in r for v in by_round.values() for r in v.values())
        if has_loss:
            head += ['last loss old / new' + (' / PyTorch' if has_torch else '')]
        print('| ' + ' | '.join(head) + ' |')
        print('|' + '---|' * len(head))
        columns = {h: [] for h in head}
        for rnd in sorted(by_round, key=int):
            sides = dict(by_round[rnd])
            if has_torch and rnd in torch:
                sides['pytorch'] = torch[rnd]
            def value(side, key):
                r = sides.get(side)
                return float(r[key]) if r and key in r else None
            cells = {'round': rnd}
            if has_epochs:
                cells['old s/epoch'] = value('old', 'epoch_seconds')
                cells['new s/epoch'] = value('new', 'epoch_seconds')
                cells['PyTorch s/epoch'] = value('pytorch', 'epoch_seconds')
            old, new, pt = (value(s, 'examples_per_second') for s in ('old', 'new', 'pytorch'))
            cells.update({'old examples/s': old, 'new examples/s': new, 'PyTorch examples/s': pt,
                          'new/old': new / old if new and old else None,
                          'new/PyTorch': new / pt if new and pt else None})
            for side in ('old', 'new'):
                sent, minimum = value(side, 'wire_bytes_per_step_sent'), value(side, 'sparse_minimum_bytes_per_step_sent')
                cells[side + ' MB/step sent'] = sent / 1e6 if sent is not None else None
                cells[side + ' / sparse minimum'] = sent / minimum if sent is not None and minimum else None
            if has_loss:
                cells[head[-1]] = ' / '.join(sides[s]['last_loss'] if s in sides and 'last_loss' in sides[s] else '-'
                                             for s in ('old', 'new', 'pytorch')[:3 if has_torch else 2])
            for h in head[1:]:
                if h.startswith('last loss'):
                    continue
                if cells.get(h) is not None:
                    columns[h].append(cells[h])
            print('| ' + ' | '.join([rnd] + [fmt(h, cells.get(h)) for h in head[1:]]) + ' |')
        print('| **median** | ' + ' | '.join(fmt(h, statistics.median(columns[h]) if columns[h] else None, bold=True)
                                          for h in head[1:]) + ' |')
    print('\n%s: examples per second of the new build over the other side\'s, in the same round; the median row '
          'takes the median of those per-round ratios (above 1: the new build is faster).'
          % ('new/old and new/PyTorch' if torch else 'new/old'))


def fmt(header, value, bold=False):
    if value is None:
        return '-'
    if isinstance(value, str):
        return value
    if '/' in header and ('new/' in header or 'minimum' in header):
        text = '%.2f×' % value
    elif 'MB' in header or 's/epoch' in header:
        text = '%.2f' % value
    else:
        text = '{:,.0f}'.format(value)
    return '**%s**' % text if bold else text


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)
    p = sub.add_parser('run'); p.add_argument('metrics'); p.add_argument('--round', required=True)
    p.add_argument('--side', required=True); p.add_argument('--workers', default='-')
    p = sub.add_parser('torch'); p.add_argument('log'); p.add_argument('--round', required=True)
    p = sub.add_parser('window'); p.add_argument('before'); p.add_argument('after')
    p.add_argument('--round', required=True); p.add_argument('--side', required=True)
    p.add_argument('--workers', default='-'); p.add_argument('--metrics')
    p = sub.add_parser('summary'); p.add_argument('log')
    args = parser.parse_args()
    if args.command == 'run':
        print(result_line(from_metrics(args.metrics, args.round, args.side, args.workers)))
    elif args.command == 'torch':
        print(result_line(from_torch(args.log, args.round)))
    elif args.command == 'window':
        print(result_line(from_window(args.before, args.after, args.round, args.side, args.workers, args.metrics)))
    else:
        summary(args.log)


if __name__ == '__main__':
    main()
