#!/usr/bin/env bash
# Installs what skiff and its tests need from Debian's packages, each only when missing: a real etcd
# for the etcd backend, kubectl for the e2e tests, and what the real node agent runs on (crun under
# conmon, the CNI plugins, iptables, iproute2, nsenter/unshare, skopeo/umoci and a local registry for
# images, a static busybox for test images, tmux for terminal tests). Idempotent; needs root (or sudo).
#
# Packages only, on purpose. Preparing the host (moving cgroup controllers off a hybrid host's
# unified hierarchy so crun accepts it, turning on forwarding, creating /run/skiff and /var/lib/skiff)
# is skiff's own job, done by one tested implementation (src/agent/host/prepare.ts): the agent runs
# it when it starts, tests of the real agent run it in their setup, and a human runs it with
# `skiff doctor --fix`. A shell copy here would be a second version to drift from the first, and
# this script runs before skiff is built.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

have() { command -v "$1" >/dev/null 2>&1; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
cni_plugins_present() {
  local dir p
  for dir in /usr/lib/cni /opt/cni/bin; do
    for p in bridge host-local loopback portmap; do [ -x "$dir/$p" ] || continue 2; done
    return 0
  done
  return 1
}

need=()
have etcd || need+=(etcd-server)
have kubectl || need+=(kubernetes-client)
have openssl || need+=(openssl)
have crun || need+=(crun)
have conmon || need+=(conmon)
cni_plugins_present || need+=(containernetworking-plugins)
have iptables || need+=(iptables)
have ip || need+=(iproute2)
{ have nsenter && have unshare; } || need+=(util-linux)
have skopeo || need+=(skopeo)
have umoci || need+=(umoci)
have docker-registry || need+=(docker-registry)
# The dynamic `busybox` package cannot run inside a container's empty root filesystem: we need the static one.
installed busybox-static || need+=(busybox-static)
have tmux || need+=(tmux)

if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# Debian's etcd-server and docker-registry start system services (etcd on 2379, a registry on 5000)
# when installed; tests start their own on free ports, so the system ones are stopped and kept from
# starting at boot. Works with systemd and with the packages' init scripts (containers without systemd).
stop_system_service() {
  local name=$1
  if [ -d /run/systemd/system ] && have systemctl; then
    if systemctl is-active --quiet "$name" 2>/dev/null; then
      echo "install-deps: stopping the system $name service"
      $SUDO systemctl stop "$name" || true
    fi
    if systemctl is-enabled --quiet "$name" 2>/dev/null; then $SUDO systemctl disable --quiet "$name" || true; fi
  elif [ -x "/etc/init.d/$name" ]; then
    if $SUDO "/etc/init.d/$name" status >/dev/null 2>&1; then
      echo "install-deps: stopping the system $name service"
      $SUDO "/etc/init.d/$name" stop >/dev/null || true
    fi
    if have update-rc.d && ls /etc/rc[2-5].d/S*"$name" >/dev/null 2>&1; then $SUDO update-rc.d "$name" disable >/dev/null 2>&1 || true; fi
  fi
}
stop_system_service etcd
stop_system_service docker-registry

echo "install-deps: etcd $(etcd --version 2>/dev/null | head -1 | awk '{print $3}'), kubectl at $(command -v kubectl)"
echo "install-deps: $(crun --version | head -1), $(conmon --version 2>/dev/null | head -1), skopeo $(skopeo --version | awk '{print $3}'), umoci $(umoci --version | awk '{print $3}')"
echo "install-deps: host preparation (cgroups, forwarding) is skiff's own: skiff doctor [--fix]"
