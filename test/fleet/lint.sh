#!/bin/sh
# The Ansible role and playbook (deploy/ansible/): ansible-lint with the
# production profile, and ansible-playbook --syntax-check against the example
# inventory. Needs ansible-core and ansible-lint (Debian: apt install ansible-core
# ansible-lint). `npm run lint:fleet`. Exit 0 when both pass.
set -eu
cd "$(dirname "$0")/../../deploy/ansible"
for tool in ansible-lint ansible-playbook; do
  command -v "$tool" >/dev/null || { echo "lint:fleet: $tool is not installed (apt install ansible-core ansible-lint)" >&2; exit 1; }
done
export ANSIBLE_CONFIG="$PWD/ansible.cfg" ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
echo "# $(ansible-lint --nocolor --version 2>/dev/null | head -n 1)"
ansible-lint --nocolor --profile production playbook.yml roles/asyncdemo inventory/example
ansible-playbook --syntax-check -i inventory/example/hosts.ini playbook.yml
echo "lint:fleet: ansible-lint (production) and --syntax-check pass"
