# shellcheck shell=bash
# Helpers for scripts that drive rvswitch test guests (source this file).
# Console lines look like `RV <name> <KIND> key=value ... t_ms=N` and end in
# \r\n (the serial tty adds \r); every helper strips the \r.
#
#   rvguest_line LOG NAME KIND [N]    print the Nth (default 1st) KIND line
#   rvguest_lines LOG NAME KIND       print every KIND line
#   rvguest_field LINE KEY            print the value of KEY=value in LINE
#   rvguest_wait LOG NAME KIND TIMEOUT_S [PID]
#                                     poll LOG until a KIND line appears; fail
#                                     early if PID (QEMU) exits first; prints it
#   rvguest_bond_dump LOG NAME [REASON]
#                                     print the raw /proc/net/bonding/bond0 text
#                                     of the first dump (with that reason)
#   rvguest_alive PID NAME            true if PID is the QEMU of guest NAME
#   rvguest_stop PID NAME             SIGTERM, then SIGKILL after 5 s
#   rvguest_monitor SOCK CMD...       one QEMU human-monitor command (--monitor)
#   rvguest_cmd [-t SECONDS] SOCK COMMAND
#                                     run a shell command in a guest started
#                                     with --cmd SOCK and rv.cmd=1; prints its
#                                     output (stdout+stderr), returns its exit
#                                     status (124 on timeout, 125 if the
#                                     channel fails)
#   rvguest_q35_pci N                 guest PCI address of NIC N under --q35

rvguest_lines() {
  tr -d '\r' <"$1" 2>/dev/null | grep -a -E "^RV $2 $3( |\$)" || true
}

rvguest_line() {
  rvguest_lines "$1" "$2" "$3" | sed -n "${4:-1}p"
}

rvguest_field() {
  local k
  for k in $1; do
    case $k in "$2="*) printf '%s\n' "${k#*=}"; return 0 ;; esac
  done
  return 1
}

rvguest_alive() {
  local comm
  [ -n "${1:-}" ] || return 1
  comm=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
  # QEMU's -name process= sets the thread name (truncated to 15 chars)
  case "rvguest-$2" in "$comm"*) return 0 ;; esac
  case $comm in qemu-system*) return 0 ;; esac
  return 1
}

rvguest_wait() {
  local log=$1 name=$2 kind=$3 timeout=$4 pid=${5:-} line end
  end=$((SECONDS + timeout))
  while :; do
    line=$(rvguest_line "$log" "$name" "$kind")
    if [ -n "$line" ]; then
      printf '%s\n' "$line"
      return 0
    fi
    if [ -n "$pid" ] && ! rvguest_alive "$pid" "$name"; then
      # one more look: the line may have been written just before exit
      line=$(rvguest_line "$log" "$name" "$kind")
      [ -n "$line" ] && { printf '%s\n' "$line"; return 0; }
      echo "rvguest_wait: $name exited before $kind" >&2
      return 1
    fi
    if [ $SECONDS -ge $end ]; then
      echo "rvguest_wait: no '$kind' from $name within ${timeout}s" >&2
      return 1
    fi
    sleep 0.2
  done
}

rvguest_bond_dump() {
  local log=$1 name=$2 reason=${3:-}
  tr -d '\r' <"$log" | awk -v b="RV $name BOND-BEGIN" -v e="RV $name BOND-END" -v r="$reason" '
    done { next }  # read to the end: an early exit would SIGPIPE the writer
    !on && index($0, b) == 1 && (r == "" || index($0, " reason=" r " ") > 0) { on = 1; next }
    on && index($0, e) == 1 { on = 0; done = 1; next }
    on { print }'
}

rvguest_stop() {
  local pid=$1 name=$2 _
  rvguest_alive "$pid" "$name" || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do
    rvguest_alive "$pid" "$name" || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

# rvguest_monitor SOCK COMMAND...: run one human-monitor command on a guest
# started with --monitor SOCK and print its output, e.g.
#   rvguest_monitor "$dir/vm1.mon" set_link nic1 off   (carrier off on eth1)
rvguest_monitor() {
  local sock=$1
  shift
  python3 - "$sock" "$*" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
def until_prompt():
    buf = b""
    while not buf.endswith(b"(qemu) "):
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf
until_prompt()
s.sendall(sys.argv[2].encode() + b"\n")
out = until_prompt().decode(errors="replace").replace("\r", "")
lines = out.split("\n")[1:-1]  # drop the echoed command and the prompt
sys.stdout.write("".join(l + "\n" for l in lines if l.strip()))
PY
}

# rvguest_cmd [-t SECONDS] SOCK COMMAND: run COMMAND (one line, any shell
# syntax) with sh -c in the guest whose second serial port is SOCK
# (run-guest.sh --cmd SOCK, init rv.cmd=1). Commands run one at a time, with
# stdin from /dev/null; start long ones in the background with their output
# in a file. The output is printed as the guest produced it; the exit status
# is the command's (124: no answer within SECONDS, default 120; 125: no
# channel). Each request carries a fresh id and everything else read from
# the port (such as the answer to an earlier, timed-out request) is skipped.
rvguest_cmd() {
  local t=120
  if [ "${1:-}" = -t ]; then t=$2; shift 2; fi
  python3 - "$1" "$2" "$t" <<'PY'
import os, socket, sys, time
sock, cmd, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
if "\n" in cmd or "\r" in cmd:
    sys.stderr.write("rvguest_cmd: the command must be one line\n"); sys.exit(125)
rid = os.urandom(6).hex()
end = time.monotonic() + timeout
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.settimeout(10)
    s.connect(sock)
    s.sendall(b"RVCMD " + rid.encode() + b" " + cmd.encode() + b"\n")
except OSError as e:
    sys.stderr.write("rvguest_cmd: %s: %s\n" % (sock, e)); sys.exit(125)
begin = ("RVOUT %s BEGIN" % rid).encode()
endm = ("RVOUT %s END rc=" % rid).encode()
buf, out, inside = b"", [], False
while True:
    left = end - time.monotonic()
    if left <= 0:
        sys.stdout.buffer.write(b"".join(out))
        sys.stderr.write("rvguest_cmd: no answer within %gs to: %s\n" % (timeout, cmd)); sys.exit(124)
    s.settimeout(min(left, 1.0))
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        continue
    if not chunk:
        sys.stderr.write("rvguest_cmd: %s closed (guest gone?)\n" % sock); sys.exit(125)
    buf += chunk.replace(b"\r", b"")
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        if not inside:
            inside = line == begin
        elif line.startswith(endm):
            if out and out[-1] == b"\n":
                out.pop()  # the newline the guest adds after the output
            sys.stdout.buffer.write(b"".join(out))
            sys.stdout.flush()
            sys.exit(int(line[len(endm):] or b"125"))
        else:
            out.append(line + b"\n")
PY
}

# rvguest_q35_pci N: the guest PCI address of NIC N of a --q35 guest.
rvguest_q35_pci() { printf '0000:%02x:00.0\n' $(($1 + 1)); }
