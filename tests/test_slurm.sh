#!/bin/sh
# test_slurm.sh: recipes/cluster/slurm.sbatch on a real Slurm.
#
# Starts a single-node Slurm cluster of its own in a temporary folder (munged
# with its own key and socket; slurmctld and slurmd with a generated
# slurm.conf, their own state, spool, logs and free ports), then submits
# slurm.sbatch:
#  - with a stand-in for relab and a 1-minute time limit: the script's own
#    --signal directive delivers SIGTERM to the job step (not only to the
#    batch shell), and the stand-in's exit 75 makes the script requeue the job;
# then with a tiny Fashion-MNIST recipe as 2 tasks (srun --mpi=pmix, 1 thread
# each):
#  - uninterrupted: the job completes with exit code 0;
#  - interrupted twice: once the way a time limit does it (SIGTERM to the job
#    steps only, what --signal=TERM@300 sends: relab checkpoints and exits 75,
#    the script requeues the job), once the way a preemption does it
#    (scontrol requeue: Slurm signals every process and requeues the job
#    itself); each time the job starts again and resumes, and its final
#    weights equal the uninterrupted run's bitwise (same ranks, threads, BLAS);
#  - a failing run (exit 1) is not requeued;
#  - every daemon it started is stopped, also when a check fails (trap).
# Slurm delays a requeued job by a fixed begin time (about 2 minutes); the
# test moves that begin time to now, which is not what is under test.
# SKIPs when not root, when slurm-wlm or munge is missing, when relab was built
# without MPI, or without h5py or the Fashion-MNIST package.
: "${top_builddir:=.}" "${top_srcdir:=.}" "${RELAB:=$top_builddir/relab}" "${REF_PYTHON:=/usr/bin/python3}"
PATH=$PATH:/usr/sbin:/sbin

skip() {
    echo "1..0 # SKIP $1"
    exit 0
}
[ "$(id -u)" -eq 0 ] || skip "not root (the test cluster's daemons run as root)"
for p in slurmctld slurmd munged sbatch srun scontrol squeue scancel; do
    command -v $p >/dev/null 2>&1 || skip "$p not found (apt-get install slurm-wlm munge)"
done
grep -q '^#define RL_HAVE_MPI 1' "$top_builddir/config.h" 2>/dev/null || skip "relab built without MPI"
# munged refuses a socket below a folder others cannot enter, starting with /
# (some minimal roots and containers have / at mode 0700)
[ $(( 0$(stat -c %a /) & 1 )) -eq 1 ] || skip "munged needs / to be enterable by all users; here it is mode $(stat -c %a /)"
# the Fashion-MNIST and h5py checks, a scratch folder, TAP, the tiny recipe
. "$top_srcdir/tests/trainlib.sh"
now() { date +%s; }

work=$dir
# munged insists that everyone may traverse the folders of its socket
chmod 755 "$work"
mkdir -p "$work/munge" "$work/state" "$work/spool" "$work/log"
export SLURM_CONF="$work/slurm.conf"

# ---- teardown: cancel our jobs, stop our daemons (by their pid files) ----
pids_of_daemons() {
    for f in "$work/slurmctld.pid" "$work/slurmd.pid" "$work/munge/munged.pid"; do
        [ -s "$f" ] && cat "$f"
    done
}
stop_cluster() {
    if [ -s "$work/slurmctld.pid" ]; then
        scancel --quiet --user=root 2>/dev/null
        i=0
        while [ $i -lt 60 ] && [ -n "$(squeue -h 2>/dev/null)" ]; do sleep 0.5; i=$((i + 1)); done
    fi
    daemons=$(pids_of_daemons)
    for p in $daemons; do kill -TERM "$p" 2>/dev/null; done
    # up to 10 s to exit, then SIGKILL to what is left
    for i in $(seq 100); do
        alive=$(for p in $daemons; do kill -0 "$p" 2>/dev/null && echo "$p"; done)
        [ -z "$alive" ] && break
        sleep 0.1
    done
    for p in $alive; do kill -KILL "$p" 2>/dev/null; done
    rm -f "$work/slurmctld.pid" "$work/slurmd.pid" "$work/munge/munged.pid"
}
cleanup() {
    stop_cluster
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# ---- the cluster ----
# two free TCP ports for slurmctld and slurmd
port_busy() {
    hex=$(printf ':%04X ' "$1")
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q "$hex"
}
base=$((20000 + $$ % 20000))
while port_busy $base || port_busy $((base + 1)); do base=$((base + 2)); done

dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
munged --key-file="$work/munge/munge.key" --socket="$work/munge/socket" --pid-file="$work/munge/munged.pid" \
    --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed" > "$work/log/munged.out" 2>&1
host=$(hostname -s)
node=$(slurmd -C | head -n 1) # NodeName=HOST CPUs=... as slurmd sees this machine
cat > "$SLURM_CONF" <<EOF
ClusterName=relabtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$base
SlurmdPort=$((base + 1))
AuthType=auth/munge
AuthInfo=socket=$work/munge/socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
KillWait=60
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -f "$SLURM_CONF" > "$work/log/slurmctld.out" 2>&1
slurmd -f "$SLURM_CONF" > "$work/log/slurmd.out" 2>&1
i=0
while [ $i -lt 100 ] && [ "$(sinfo -h -o %t 2>/dev/null)" != idle ]; do sleep 0.2; i=$((i + 1)); done
timeout 60 srun -N1 -n2 hostname > "$work/hostname.out" 2>&1
if [ "$(grep -c . "$work/hostname.out")" -ne 2 ]; then
    ok 1 "single-node Slurm cluster runs 2 tasks (srun hostname)"
    for f in "$work"/log/*; do sed "s|^|# ${f##*/}: |" "$f" | tail -n 5; done
    echo "1..$n"
    exit 1
fi
ok 0 "single-node Slurm cluster (munged, slurmctld, slurmd on ports $base-$((base + 1))) runs 2 tasks"

tiny_recipe "$work/tiny.recipe" 2
steps=64 # 2048 / 64 x 2 epochs

export RELAB
submit() { # submit NAME [relab train options]: prints the job id
    name=$1
    shift
    sbatch --parsable --nodes=1 --ntasks-per-node=2 --cpus-per-task=1 --time=30 --output="$work/$name.out" \
        "$top_srcdir/recipes/cluster/slurm.sbatch" "$work/tiny.recipe" "$work/$name" \
        --set checkpoint_every=4 --set keep_checkpoints=100 "$@"
}
field() { # field JOB KEY: KEY=value of scontrol show job
    scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}
state() { field "$1" JobState; }
# wait_job JOB CONDITION [SECONDS]: poll until CONDITION holds; a requeued job
# pending on its begin time is started now
wait_job() {
    deadline=$(($(now) + ${3:-240}))
    while [ "$(now)" -lt "$deadline" ]; do
        eval "$2" && return 0
        [ "$(state "$1")" = PENDING ] && [ "$(field "$1" Reason)" = BeginTime ] &&
            scontrol update JobId="$1" StartTime=now 2>/dev/null
        sleep 0.2
    done
    echo "# timed out waiting for: $2 (job $1: $(state "$1"))"
    return 1
}
finished() { case $(state "$1") in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) return 0 ;; esac; return 1; }

# ---- the time limit's signal reaches the job step ----
# The stand-in waits for SIGTERM and then exits 75 as relab does when a signal
# stopped it at a checkpoint.  Slurm checks time limits every 30 s, so the
# signal (due 300 s before a 60 s limit) comes within about half a minute.
cat > "$work/stand-in" <<'EOF'
#!/bin/sh
trap 'echo "stand-in for relab (task $SLURM_PROCID): SIGTERM after $(($(date +%s) - t0)) s"; exit 75' TERM
t0=$(date +%s)
sleep 90 &
wait
echo "stand-in for relab: no signal in 90 s"
exit 1
EOF
chmod +x "$work/stand-in"
limit=$(RELAB="$work/stand-in" sbatch --parsable --nodes=1 --ntasks=1 --cpus-per-task=1 --time=1 \
    --output="$work/limit.out" "$top_srcdir/recipes/cluster/slurm.sbatch" "$work/tiny.recipe" "$work/limit")
wait_job "$limit" '[ "$(field $limit Restarts)" = 1 ] || finished $limit' 150
scancel "$limit"
wait_job "$limit" 'finished $limit'
ok_if 'grep -q "stand-in for relab (task 0): SIGTERM" "$work/limit.out" && grep -q "requeueing job $limit" "$work/limit.out"' \
    "--signal=TERM@300 reaches the job step before the time limit; exit 75 requeues ($(grep -o 'SIGTERM after [0-9]* s' "$work/limit.out" | head -n 1))"

# ---- uninterrupted ----
full=$(submit full)
wait_job "$full" 'finished $full'
ok_if '[ "$(state $full)" = COMPLETED ] && [ "$(field $full ExitCode)" = 0:0 ] && [ -s "$work/full/final.h5" ]' \
    "uninterrupted 2-task job completes, exit 0 ($(state "$full"), $(field "$full" ExitCode))"
ok_if 'grep -q "2 ranks; all-reduced" "$work/full.out"' "srun --mpi=pmix started relab as 2 MPI ranks"

# ---- time limit: SIGTERM to the steps (relab), the script requeues ----
cut=$(submit cut)
wait_job "$cut" '[ -e "$work/cut/ckpt-0000000004.h5" ] || finished $cut'
scancel --signal=TERM "$cut"
wait_job "$cut" '[ "$(field $cut Restarts)" = 1 ] && grep -q "resuming from" "$work/cut.out" || finished $cut'
stop1=$(sed -n 's/.*stopped by signal at step \([0-9]*\).*/\1/p' "$work/cut.out" | head -n 1)
ok_if 'grep -q "requeueing job $cut" "$work/cut.out" && [ -n "$stop1" ] && [ "$stop1" -lt $steps ]' \
    "SIGTERM to the steps: relab stopped at step ${stop1:-?} of $steps, exit 75, the script requeued the job"
ok_if 'grep -q "resuming from .*ckpt-0*$stop1.h5" "$work/cut.out"' "the requeued job resumes from step ${stop1:-?}"

# ---- preemption: Slurm signals everything and requeues by itself ----
# the second checkpoint after the resume (every 4 global steps)
next=$(printf '%s/cut/ckpt-%010d.h5' "$work" $(((${stop1:-0} / 4 + 2) * 4)))
wait_job "$cut" '[ -e "$next" ] || finished $cut'
scontrol requeue "$cut"
# Restarts counts at the requeue; the log is complete once the job resumed
wait_job "$cut" '[ "$(grep -c "resuming from" "$work/cut.out")" -ge 2 ] || finished $cut'
# rank 0 names each checkpoint it wrote on a stop
stop2=$(sed -n 's/.*relab: stopped; checkpoint .*ckpt-0*\([0-9][0-9]*\)\.h5 written.*/\1/p' "$work/cut.out" | sed -n 2p)
ok_if 'grep -q "while Slurm ends the job" "$work/cut.out" && [ -n "$stop2" ] && [ "$stop2" -lt $steps ]' \
    "preemption (scontrol requeue): relab stopped at step ${stop2:-?}, the script left the requeue to Slurm"
wait_job "$cut" 'finished $cut'
ok_if '[ "$(state $cut)" = COMPLETED ] && [ "$(field $cut ExitCode)" = 0:0 ] && [ "$(field $cut Restarts)" = 2 ]' \
    "the twice-requeued job completes (exit $(field "$cut" ExitCode), $(field "$cut" Restarts) restarts)"
ok_if 'same_weights "$work/full/final.h5" "$work/cut/final.h5"' "stopped twice and resumed == uninterrupted, bitwise"

# ---- a failure is not requeued ----
bad=$(submit bad --set train_list="$work/no-such-list.txt")
wait_job "$bad" 'finished $bad'
ok_if '[ "$(state $bad)" = FAILED ] && [ "$(field $bad ExitCode)" = 1:0 ] && [ "$(field $bad Restarts)" = 0 ] &&
    grep -q "failed (exit 1); not requeued" "$work/bad.out"' \
    "a failing run ends the job (exit $(field "$bad" ExitCode), $(field "$bad" Restarts) restarts)"

# ---- teardown ----
daemons=$(pids_of_daemons)
stop_cluster
alive=""
for p in $daemons; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
ok_if '[ -z "$alive" ]' "every daemon the test started has stopped"
echo "1..$n"
