#!/usr/bin/env bash
# start-local-slurm.sh - install, configure and start a single-node Slurm
# cluster on THIS machine (Debian 12, run as root). Used by the Slurm tests
# (tests/helpers/slurm.py) and by hand; see docs/slurm.md. Works without systemd
# (daemons are started directly, they daemonize themselves). Idempotent:
# running it again while everything is up only re-checks and exits 0.
#
# Waits until `sinfo` shows the node idle (or already busy with jobs).
#
# Environment knobs (all optional):
#   LOCAL_SLURM_ACCOUNTING=1   1: MariaDB + slurmdbd so that `sacct` works
#                              (nemo_run polls `sacct --parsable2 -j ID` for
#                              job status). 0: accounting_storage/none,
#                              sacct exits 1 "Slurm accounting storage is disabled".
#   LOCAL_SLURM_CPUS=<n>       CPUs to advertise (default: real count). Can be
#                              larger than the real count (config_overrides),
#                              so more 1-CPU test jobs run at the same time.
#   LOCAL_SLURM_GPUS=0         >0: advertise that many fake GPUs (gres/gpu backed
#                              by /dev/fakegpuN char devices = /dev/null), so
#                              --gpus-per-node=N is accepted; CUDA_VISIBLE_DEVICES is set.
#   LOCAL_SLURM_KILL_INVALID_DEPEND=0  1: DependencyParameters=kill_invalid_depend
#                              (afterok dependents of a failed job are CANCELLED
#                              instead of PENDING forever with DependencyNeverSatisfied).
#   LOCAL_SLURM_CLUSTER=localcluster   LOCAL_SLURM_PARTITION=debug
#   LOCAL_SLURM_TIMEOUT=120    seconds to wait for the node to become usable.
set -euo pipefail

ACCOUNTING=${LOCAL_SLURM_ACCOUNTING:-1}
CPUS=${LOCAL_SLURM_CPUS:-}
GPUS=${LOCAL_SLURM_GPUS:-0}
KILL_INVALID_DEPEND=${LOCAL_SLURM_KILL_INVALID_DEPEND:-0}
CLUSTER=${LOCAL_SLURM_CLUSTER:-localcluster}
PARTITION=${LOCAL_SLURM_PARTITION:-debug}
TIMEOUT=${LOCAL_SLURM_TIMEOUT:-120}

DB_NAME=slurm_acct_db
DB_USER=slurm
DB_PASS=slurmdbpass   # local throwaway test cluster, DB only reachable via localhost

T_START=$(date +%s)
log() { echo "[start-local-slurm] +$(( $(date +%s) - T_START ))s $*"; }
die() { echo "[start-local-slurm] ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"

# One run at a time on this machine: two callers at once (two test sessions) would both find a
# daemon missing and start it twice.
LOCK_DIR=/run/lock; [ -d "$LOCK_DIR" ] || LOCK_DIR=/tmp
exec 9>"$LOCK_DIR/start-local-slurm.lock"  # daemons start with 9>&-: they must not keep it
flock -w 600 9 || die "another start-local-slurm.sh has held $LOCK_DIR/start-local-slurm.lock for 10 minutes"

# pid from pidfile if that process is alive and its command name matches
alive_pid() { # $1 pidfile, $2 expected comm (prefix match)
    local pf=$1 want=$2 pid comm
    [ -s "$pf" ] || return 1
    pid=$(tr -dc '0-9' < "$pf")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
    [[ "$comm" == "$want"* ]] || return 1
    echo "$pid"
}

stop_pid() { # $1 pid: TERM, wait up to 15 s, then KILL
    local pid=$1 i
    kill "$pid" 2>/dev/null || return 0
    for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    sleep 0.5
}

wait_tcp() { # $1 port, $2 seconds
    local i
    for i in $(seq 1 $(( $2 * 4 ))); do
        (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.25
    done
    return 1
}

# ---------------------------------------------------------------- 1. install
APT_LOG=${TMPDIR:-/tmp}/start-local-slurm.apt.log
APT_OPTS="-y -q --no-install-recommends -o DPkg::Lock::Timeout=300"
PKGS="slurm-wlm munge libpmix2"
[ "$ACCOUNTING" = 1 ] && PKGS="$PKGS slurmdbd mariadb-server"
MISSING=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || MISSING="$MISSING $p"
done
if [ -n "$MISSING" ]; then
    log "apt-get install:$MISSING"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    if ! apt-get install $APT_OPTS $MISSING >"$APT_LOG" 2>&1 9>&-; then
        log "install failed, running apt-get update and retrying"
        apt-get update -q -o DPkg::Lock::Timeout=300 >>"$APT_LOG" 2>&1
        # shellcheck disable=SC2086
        apt-get install $APT_OPTS $MISSING >>"$APT_LOG" 2>&1 9>&- \
            || { tail -20 "$APT_LOG"; die "apt-get install failed"; }
    fi
    log "installed"
fi

# srun --mpi=pmix (NeMo-Skills passes it) needs the *unversioned* libpmix.so,
# which Debian only ships in libpmix-dev; a symlink is enough.
PMIX_SO=$(dpkg -L libpmix2 2>/dev/null | grep '/pmix2/lib/libpmix\.so\.2$' | head -1 || true)
if [ -n "$PMIX_SO" ] && [ ! -e "$(dirname "$PMIX_SO")/libpmix.so" ]; then
    ln -s libpmix.so.2 "$(dirname "$PMIX_SO")/libpmix.so"
    log "linked $(dirname "$PMIX_SO")/libpmix.so"
fi

# ---------------------------------------------------------------- 2. munge
if [ ! -s /etc/munge/munge.key ]; then
    log "creating munge key"
    if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key --force
    else dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none; fi
fi
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
# A working munge (ours, or one the package's init script started) is kept as it is.
if ! alive_pid /run/munge/munged.pid munged >/dev/null && ! (munge -n | unmunge) >/dev/null 2>&1; then
    mkdir -p /run/munge && chown munge:munge /run/munge && chmod 0755 /run/munge
    rm -f /run/munge/munged.pid
    runuser -u munge -- /usr/sbin/munged 9>&-
    log "munged started"
fi
for i in $(seq 1 40); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.25; done
munge -n | unmunge >/dev/null || die "munge does not work"

# ---------------------------------------------------------------- 3. config
H=$(hostname -s)
# slurmd -C prints e.g. "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
HW=$(slurmd -C | head -1)
REAL_CPUS=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$HW")
REAL_MEM=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$HW")
CPUS=${CPUS:-$REAL_CPUS}
MEM=$(( REAL_MEM * 9 / 10 ))   # margin so the node never drains for "Low RealMemory"

NODE_GRES=""
GRES_TYPES=""
if [ "$GPUS" -gt 0 ]; then
    for i in $(seq 0 $(( GPUS - 1 ))); do
        [ -e /dev/fakegpu$i ] || mknod /dev/fakegpu$i c 1 3   # same device as /dev/null
    done
    NODE_GRES=" Gres=gpu:$GPUS"
    GRES_TYPES="GresTypes=gpu"
fi

DEP_PARAMS=""
[ "$KILL_INVALID_DEPEND" = 1 ] && DEP_PARAMS="DependencyParameters=kill_invalid_depend"

if [ "$ACCOUNTING" = 1 ]; then
    ACCT_LINES="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/none"
else
    ACCT_LINES="AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"
fi

mkdir -p /etc/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm
chown slurm:slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm

NEW_CONF=$(cat <<EOF
# generated by start-local-slurm.sh - single-node local test cluster
ClusterName=$CLUSTER
SlurmctldHost=$H(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmdParameters=config_overrides
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/lib/slurm/slurmd
StateSaveLocation=/var/lib/slurm/slurmctld
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0
$ACCT_LINES
JobCompType=jobcomp/none
MinJobAge=3600
MailProg=/bin/true
SlurmctldDebug=info
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdDebug=info
SlurmdLogFile=/var/log/slurm/slurmd.log
$GRES_TYPES
$DEP_PARAMS
NodeName=$H NodeAddr=127.0.0.1 CPUs=$CPUS Boards=1 SocketsPerBoard=1 CoresPerSocket=$CPUS ThreadsPerCore=1 RealMemory=$MEM$NODE_GRES State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
)
CHANGED=0
if [ "$(cat /etc/slurm/slurm.conf 2>/dev/null)" != "$NEW_CONF" ]; then
    printf '%s\n' "$NEW_CONF" > /etc/slurm/slurm.conf
    CHANGED=1
    log "wrote /etc/slurm/slurm.conf"
fi
if [ "$GPUS" -gt 0 ]; then
    NEW_GRES="NodeName=$H Name=gpu File=/dev/fakegpu[0-$(( GPUS - 1 ))]"
    if [ "$(cat /etc/slurm/gres.conf 2>/dev/null)" != "$NEW_GRES" ]; then
        printf '%s\n' "$NEW_GRES" > /etc/slurm/gres.conf; CHANGED=1
    fi
elif [ -f /etc/slurm/gres.conf ]; then
    rm -f /etc/slurm/gres.conf; CHANGED=1
fi

# ---------------------------------------------------------------- 4. accounting
if [ "$ACCOUNTING" = 1 ]; then
    if ! mariadb-admin ping >/dev/null 2>&1; then
        /etc/init.d/mariadb start >/dev/null 2>&1 9>&- || true
        for i in $(seq 1 120); do mariadb-admin ping >/dev/null 2>&1 && break; sleep 0.25; done
        mariadb-admin ping >/dev/null 2>&1 || die "mariadb did not start"
        log "mariadb started"
    fi
    mariadb -e "CREATE DATABASE IF NOT EXISTS $DB_NAME;
        CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
        GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'localhost'; FLUSH PRIVILEGES;"
    NEW_DBD=$(cat <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=slurm
DebugLevel=info
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=$DB_USER
StoragePass=$DB_PASS
StorageLoc=$DB_NAME
EOF
)
    if [ "$(cat /etc/slurm/slurmdbd.conf 2>/dev/null)" != "$NEW_DBD" ]; then
        printf '%s\n' "$NEW_DBD" > /etc/slurm/slurmdbd.conf
        if pid=$(alive_pid /run/slurmdbd.pid slurmdbd); then stop_pid "$pid"; fi
    fi
    chown slurm:slurm /etc/slurm/slurmdbd.conf && chmod 600 /etc/slurm/slurmdbd.conf
    if ! alive_pid /run/slurmdbd.pid slurmdbd >/dev/null; then
        /usr/sbin/slurmdbd 9>&-
        log "slurmdbd started"
    fi
    wait_tcp 6819 60 || { tail -20 /var/log/slurm/slurmdbd.log; die "slurmdbd not listening on 6819"; }
fi

# ---------------------------------------------------------------- 5. slurmctld + slurmd
if [ "$CHANGED" = 1 ]; then   # node/accounting changes need a daemon restart
    for d in slurmd slurmctld; do
        if pid=$(alive_pid /run/$d.pid $d); then log "restarting $d (config changed)"; stop_pid "$pid"; fi
    done
fi
if ! alive_pid /run/slurmctld.pid slurmctld >/dev/null; then
    /usr/sbin/slurmctld 9>&-
    log "slurmctld started"
fi
wait_tcp 6817 60 || { tail -20 /var/log/slurm/slurmctld.log; die "slurmctld not listening on 6817"; }
if ! alive_pid /run/slurmd.pid slurmd >/dev/null; then
    /usr/sbin/slurmd 9>&-
    log "slurmd started"
fi

# ---------------------------------------------------------------- 6. wait until usable
RESUMED=0
STATE=""
for i in $(seq 1 $(( TIMEOUT * 2 ))); do
    STATE=$(sinfo -h -n "$H" -o '%T' 2>/dev/null | head -1 || true)
    case "$STATE" in
        idle|mixed|allocated|completing) break ;;
        drained|draining|down|inval|"drained*"|"down*")
            if [ "$RESUMED" = 0 ]; then
                scontrol update nodename="$H" state=resume 2>/dev/null || true
                RESUMED=1
            fi ;;
    esac
    sleep 0.5
done
case "$STATE" in
    idle|mixed|allocated|completing) ;;
    *) scontrol show node "$H" | grep -E 'State|Reason' >&2 || true
       tail -5 /var/log/slurm/slurmd.log >&2 || true
       die "node $H not usable after ${TIMEOUT}s (state '$STATE')" ;;
esac

if [ "$ACCOUNTING" = 1 ]; then
    # slurmctld registers the cluster in slurmdbd by itself; make sure of it
    for i in $(seq 1 40); do
        sacctmgr -n -P list cluster format=cluster 2>/dev/null | grep -qx "$CLUSTER" && break
        sleep 0.25
    done
    sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER" \
        || sacctmgr -i add cluster "$CLUSTER" >/dev/null
    sacct -X -n >/dev/null || die "sacct does not work"
fi

log "ready: node $H is $STATE (cpus=$CPUS gpus=$GPUS accounting=$ACCOUNTING)"
