# Runs a program on a new pseudo-terminal (24x80), waits until `wait_for`
# appears on it, sends `action` (a signal name like SIGTERM, `key:<text>`
# with \x escapes, or `none`), waits up to 10 s for the exit and prints
# `rc=<code> echo=<0|1> icanon=<0|1> raw_before=<0|1> ms=<n>`: the modes of
# the terminal after the program ended, whether it had turned echo off
# before the action, and how long the exit took after the action.
# Usage: python3 pty_driver.py WAIT_FOR ACTION PROGRAM [ARGS...]
import os, sys, time, signal, termios, subprocess, select, fcntl, struct
wait_for, action, args = sys.argv[1].encode(), sys.argv[2], sys.argv[3:]
m, s = os.openpty()
fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
env = dict(os.environ)
p = subprocess.Popen(args, stdin=s, stdout=s, stderr=s, start_new_session=True, env=env,
                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
seen, deadline = b"", time.time() + 20
while wait_for not in seen and time.time() < deadline:
    r, _, _ = select.select([m], [], [], 0.2)
    if r:
        try:
            seen += os.read(m, 65536)
        except OSError:
            break
if wait_for not in seen:
    p.kill(); print("never saw", wait_for, seen[-400:]); sys.exit(1)
time.sleep(0.3)
raw_before = 0 if termios.tcgetattr(s)[3] & termios.ECHO else 1
t0 = time.time()
if action == "none":
    pass
elif action.startswith("key:"):
    os.write(m, action[4:].encode().decode("unicode_escape").encode())
else:
    os.kill(p.pid, getattr(signal, action))
def drain():
    try:
        while select.select([m], [], [], 0)[0]:
            os.read(m, 65536)
    except OSError:
        pass
while p.poll() is None and time.time() - t0 < 10:
    drain(); time.sleep(0.005)
ms = int((time.time() - t0) * 1000)
if p.poll() is None:
    p.kill(); print("did not exit"); sys.exit(1)
lflag = termios.tcgetattr(s)[3]
print("rc=%d echo=%d icanon=%d raw_before=%d ms=%d" % (p.returncode,
      1 if lflag & termios.ECHO else 0, 1 if lflag & termios.ICANON else 0, raw_before, ms))
