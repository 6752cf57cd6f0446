#!/usr/bin/env bash
# Writes an Ansible inventory and a playbook that checks what `kthw diff` checks on the lab: every
# file kthw places (content, owner, mode), the directories, the kthw block of /etc/hosts, and
# that every service is enabled and running. Files come from `kthw render --out-dir`.
#   bench/ansible-playbook.sh KTHW DESIRED... -- OUTDIR
set -euo pipefail
kthw=$1
shift
docs=()
while [ "$1" != "--" ]; do docs+=(-f "$1"); shift; done
out=$2
mkdir -p "$out"
"$kthw" render "${docs[@]}" --out-dir "$out/files" >/dev/null
python3 - "$out" "$LAB_STATE/hosts.yaml" <<'PY'
import os, re, sys
out, hosts_yaml = sys.argv[1], sys.argv[2]
text = open(hosts_yaml).read()
hosts = re.findall(r"name: (\S+)\n  labels.*?\n  address: (\S+)", text, re.S)
key = os.path.join(os.environ["LAB_STATE"], "id_ed25519")
with open(os.path.join(out, "inventory.ini"), "w") as f:
    for name, address in hosts:
        f.write(f"{name} ansible_host={address} ansible_user=root ansible_ssh_private_key_file={key} "
                f"ansible_ssh_common_args='-o UserKnownHostsFile={os.environ['LAB_STATE']}/known_hosts'\n")
units = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]
with open(os.path.join(out, "playbook.yml"), "w") as f:
    f.write("- hosts: all\n  gather_facts: false\n  tasks:\n")
    for name, _ in hosts:
        base = os.path.join(out, "files", name)
        for root, _, files in os.walk(base):
            for fn in sorted(files):
                src = os.path.join(root, fn)
                dest = src[len(base):]
                mode = oct(os.stat(src).st_mode & 0o777).replace("0o", "0")
                f.write(f"    - name: {name} {dest}\n      when: inventory_hostname == '{name}'\n"
                        f"      copy: {{src: '{src}', dest: '{dest}', owner: root, group: root, mode: '{mode}'}}\n")
    entries = re.findall(r"- \{ip: (\S+), names: \[(\S+)\]\}", text)
    for ip, names in sorted(set(entries)):
        f.write(f"    - name: /etc/hosts {ip}\n      lineinfile: {{path: /etc/hosts, line: '{ip} {names}'}}\n")
    for d, mode in [("/etc/kubernetes/config", "0755"), ("/var/lib/kubernetes", "0700")]:
        f.write(f"    - name: directory {d}\n      file: {{path: {d}, state: directory, mode: '{mode}'}}\n")
    for u in units:
        f.write(f"    - name: {u} running\n      when: inventory_hostname is match('controller-.*')\n"
                f"      systemd: {{name: {u}, state: started, enabled: true}}\n")
    f.write("    - name: haproxy running\n      when: inventory_hostname == 'lb-0'\n"
            "      systemd: {name: haproxy, state: started, enabled: true}\n")
PY
echo "$out/playbook.yml"
