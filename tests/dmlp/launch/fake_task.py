"""A stand-in task for launcher tests (no TensorFlow): behaves as FAKE_<task> says.

Its name comes from TF_CONFIG (a LocalCluster task, which first prints it) or from ``--task
NAME`` (a bare ProcessGroup task); every task then prints its ARGS.

ok       exit 0                              fail   print a line and exit 3
hang     sleep forever (with a grandchild)    slow   sleep 2 s, then exit 0
noisy    print TensorFlow-style log lines     tmp    write a file in its TMPDIR, print the path
"""

import json
import os
import subprocess
import sys
import time

raw = os.environ.get("TF_CONFIG")
if raw:  # a task of a LocalCluster
    config = json.loads(raw)
    name = f"{config['task']['type']}-{config['task']['index']}"
    print(f"TF_CONFIG {raw}", flush=True)
else:  # a task of a bare ProcessGroup, named by --task NAME
    name = sys.argv[sys.argv.index("--task") + 1]
behaviour = os.environ.get(f"FAKE_{name.replace('-', '_').upper()}", "ok")
print(f"ARGS {' '.join(sys.argv[1:])}", flush=True)
if behaviour == "noisy":
    print(
        "E0000 00:00:1795659894.073736   11086 context.cc:873] Failed to register function "
        "remotely due to failed to connect to all addresses",
        flush=True,
    )
    print("my own line", flush=True)
if behaviour == "tmp":
    import tempfile

    with tempfile.NamedTemporaryFile(delete=False, prefix="__autograph_generated_file") as f:
        print(f"TMPFILE {f.name}", flush=True)
if behaviour == "fail":
    print("something broke in this task", flush=True)
    sys.exit(3)
if behaviour == "hang":
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    print(f"GRANDCHILD {child.pid}", flush=True)
    time.sleep(600)
if behaviour == "slow":
    time.sleep(2)
