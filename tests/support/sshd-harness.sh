#!/usr/bin/env bash
# A real OpenSSH sshd on 127.0.0.1 for kthw's tests, with a private view of /etc.
#
#   sshd-harness.sh start DIR   generate keys and config in DIR, start sshd, print its port
#   sshd-harness.sh stop DIR    stop it and everything it started
#   sshd-harness.sh cut DIR     kill every session process (the listener stays up)
#
# sshd runs in its own mount namespace where /etc is a copy (DIR/etc), so whatever a test makes
# kthw do to /etc/hosts, /etc/sysctl.d or /etc/modules-load.d lands in DIR/etc, never in this
# machine's /etc. The copy also holds a non-root user "kthw" with passwordless sudo.
set -euo pipefail
cmd=$1
dir=$(realpath -m "$2")

listener() { cat "$dir/sshd.pid" 2>/dev/null || true; }

case "$cmd" in
start)
  [ "$(id -u)" -eq 0 ] || { echo "sshd-harness: needs root (mount namespaces)" >&2; exit 1; }
  command -v /usr/sbin/sshd >/dev/null || { echo "sshd-harness: /usr/sbin/sshd missing (make deps)" >&2; exit 1; }
  mkdir -p "$dir"
  chmod 0755 "$dir"  # the unprivileged session of user kthw reads authorized_keys here
  [ -f "$dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -C kthw-test-host -f "$dir/host_key"
  [ -f "$dir/user_key" ] || ssh-keygen -q -t ed25519 -N '' -C kthw-test-user -f "$dir/user_key"
  [ -f "$dir/user_key_ecdsa" ] || ssh-keygen -q -t ecdsa -b 256 -N '' -f "$dir/user_key_ecdsa"
  [ -f "$dir/user_key_rsa" ] || ssh-keygen -q -t rsa -b 3072 -N '' -f "$dir/user_key_rsa"
  cat "$dir/user_key.pub" "$dir/user_key_ecdsa.pub" "$dir/user_key_rsa.pub" >"$dir/authorized_keys"
  chmod 0644 "$dir/authorized_keys"
  rm -rf "$dir/etc"
  cp -a /etc "$dir/etc"
  mkdir -p "$dir/etc/sysctl.d" "$dir/etc/modules-load.d" "$dir/etc/sudoers.d" "$dir/home/kthw"
  grep -q '^kthw:' "$dir/etc/passwd" || {
    echo "kthw:x:4242:4242:kthw test:$dir/home/kthw:/bin/sh" >>"$dir/etc/passwd"
    echo "kthw:x:4242:" >>"$dir/etc/group"
    echo "kthw:*:19000:0:99999:7:::" >>"$dir/etc/shadow"
  }
  echo 'kthw ALL=(ALL) NOPASSWD: ALL' >"$dir/etc/sudoers.d/kthw"
  chmod 0440 "$dir/etc/sudoers.d/kthw"
  chown 4242:4242 "$dir/home/kthw"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat >"$dir/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
# libssh2 1.10 signs RSA user keys with ssh-rsa (SHA-1), which OpenSSH 8.8+ refuses by default.
PubkeyAcceptedAlgorithms +ssh-rsa
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $dir/sshd.pid
LogLevel VERBOSE
MaxStartups 500
MaxSessions 100
PrintMotd no
CONF
  mkdir -p /run/sshd
  rm -f "$dir/sshd.pid"
  setsid unshare --mount --propagation private -- /bin/sh -c \
    "mount --bind '$dir/etc' /etc && exec /usr/sbin/sshd -D -e -f '$dir/sshd_config'" \
    </dev/null >>"$dir/sshd.log" 2>&1 &
  for _ in $(seq 1 100); do
    if [ -s "$dir/sshd.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port" >"$dir/port"
      echo "$port"
      exit 0
    fi
    sleep 0.05
  done
  echo "sshd-harness: sshd did not start; log:" >&2
  cat "$dir/sshd.log" >&2
  exit 1
  ;;
cut)
  pid=$(listener)
  [ -n "$pid" ] && pkill -KILL -P "$pid" 2>/dev/null || true
  ;;
stop)
  pid=$(listener)
  if [ -n "$pid" ]; then
    pkill -KILL -P "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/sshd.pid"
  ;;
*)
  echo "usage: sshd-harness.sh start|stop|cut DIR" >&2
  exit 2
  ;;
esac
