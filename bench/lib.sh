# Helpers shared by the benchmark scripts (sourced, not run).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# User + system CPU ticks of a process.
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
TCK=$(getconf CLK_TCK)
# Median of numbers given on stdin, separated by spaces or newlines.
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {if (NR==0) print 0; else print a[int((NR+1)/2)]}'; }
# The reference nats-server 2.12.4 (installed into target/reference/).
ref_bin() { bash scripts/reference.sh; }
# Resets a process's peak RSS (VmHWM), so the next hwm_kb covers what follows.
reset_hwm() { echo 5 > "/proc/$1/clear_refs" 2>/dev/null || true; }
