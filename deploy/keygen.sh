#!/usr/bin/env bash
# Makes the cluster's CurveZMQ keys with the image's `coordinator keygen`:
#   KEYS/coordinator.key, KEYS/coordinator.pub      the coordinator's pair (workers get the .pub)
#   KEYS/worker.key, KEYS/worker.pub                the pair the compose service's workers share
#   KEYS/authorized/worker.pub                      the public keys the coordinator admits (one *.pub per worker)
#   KEYS/shard.key, KEYS/shard.pub                  the pair the state shards share (docker-compose.shards.yml)
# and gives them to the containers' user (uid 10001), which needs root (or sudo).
#
#   bash deploy/keygen.sh [KEYS]          default KEYS: deploy/keys; image: $MBT_IMAGE or memory-bank-trainer:latest
set -euo pipefail
keys=${1:-"$(dirname "$0")/keys"}
image=${MBT_IMAGE:-memory-bank-trainer:latest}
mkdir -p "$keys/authorized"
keys=$(cd "$keys" && pwd)
keygen() {
  docker run --rm --user "$(id -u):$(id -g)" --network none -v "$keys:/keys" "$image" keygen --out /keys "$@"
}
keygen --name coordinator
keygen --name worker
keygen --name shard
cp "$keys/worker.pub" "$keys/authorized/worker.pub"
if [ "$(id -u)" = 0 ]; then
  chown -R 10001:10001 "$keys"
else
  echo "now give the keys to the containers' user: sudo chown -R 10001:10001 $keys"
fi
