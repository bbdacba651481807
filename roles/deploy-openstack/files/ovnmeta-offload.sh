#!/bin/bash
# crossgate deploy-openstack: keep transmit checksum offload off on the OVN metadata agent's
# veth ends inside its ovnmeta-* namespaces. Open vSwitch's userspace datapath forwards what a
# veth hands it with the checksum left to offload, so TCP to the metadata proxy (haproxy in
# the namespace) would reach the guest with bad checksums. Runs as a unit on every chassis;
# the agent makes a namespace when a network first has a port on the chassis.
set -u
interval=${1:-2}
while true; do
    for ns in $(ip netns list 2>/dev/null | awk '/^ovnmeta-/ {print $1}'); do
        for dev in $(ip netns exec "$ns" ls /sys/class/net 2>/dev/null); do
            [ "$dev" = lo ] && continue
            if ip netns exec "$ns" ethtool -k "$dev" 2>/dev/null | grep -q '^tx-checksumming: on'; then
                ip netns exec "$ns" ethtool -K "$dev" tx off >/dev/null 2>&1 \
                    && echo "tx checksum offload off on $dev in $ns"
            fi
        done
    done
    sleep "$interval"
done
