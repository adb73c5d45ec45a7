"""Runs the NumPy + FAISS block of README.md for each user and compares its items with `coordinator recommend`.

usage: check_faiss_example.py README.md RUN_DIR USERS_FILE RECOMMEND_TSV

The block is the ```python fence after the line `<!-- faiss-example -->`; its line `run, user, k = ...` is set to
the run and each user in turn. The lists must agree item for item, except that two items whose scores differ by less
than 1e-4 (a near tie, which FAISS's own arithmetic may order either way) may trade places. Exits 1 on a mismatch.
"""
import contextlib
import io
import re
import sys

readme, run, users_file, tsv = sys.argv[1:5]
text = open(readme, encoding="utf-8").read()
match = re.search(r"<!-- faiss-example -->\s*```python\n(.*?)```", text, re.S)
if not match:
    sys.exit(f"{readme}: no ```python block after <!-- faiss-example -->")
block = match.group(1)
setting = re.compile(r"^run, user, k = .*$", re.M)
if len(setting.findall(block)) != 1:
    sys.exit(f"{readme}: the faiss example must set `run, user, k = ...` on one line")

expected = {}
for n, line in enumerate(open(tsv, encoding="utf-8")):
    if n == 0:
        assert line.rstrip("\n") == "user\trank\titem\tscore", f"{tsv}: header {line!r}"
        continue
    user, rank, item, score = line.rstrip("\n").split("\t")
    expected.setdefault(user, []).append((item, float(score)))

users = [u.strip() for u in open(users_file, encoding="utf-8") if u.strip()]
problems, swaps = [], 0
for user in users:
    code = setting.sub(lambda _: f"run, user, k = {run!r}, {user!r}, 20", block)
    namespace = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "README.md faiss example", "exec"), namespace)
    got, want = namespace["top"], expected.get(user, [])
    if len(got) != len(want):
        problems.append(f"user {user}: FAISS gave {len(got)} items, recommend {len(want)}")
        continue
    for r, ((gi, gs), (wi, ws)) in enumerate(zip(got, want)):
        if abs(gs - ws) > 1e-4:
            problems.append(f"user {user} rank {r + 1}: FAISS {gi} {gs:.6f}, recommend {wi} {ws:.6f}")
            break
        if gi != wi:
            swaps += 1

for p in problems[:10]:
    print(p, file=sys.stderr)
print(f"faiss example on {run}: {len(users)} users, {len(problems)} disagreeing, {swaps} near-tie swaps")
# Near ties are rare: many of them would mean the scores are not compared as they should be.
if swaps > 0.05 * sum(len(v) for v in expected.values()):
    problems.append(f"{swaps} near-tie swaps")
sys.exit(1 if problems or not users else 0)
