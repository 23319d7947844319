# syntax=docker/dockerfile:1
#
# Image of the Beskar7 provisioning daemon (the default target, last in this file), and of the
# shim operator (target `shim`, see the end of this comment).
#
#   docker build -t beskar7:0.1.0 .
#   docker run -d --name beskar7 \
#     --network host \
#     --cap-add NET_BIND_SERVICE --cap-add NET_RAW \
#     --stop-timeout 30 \
#     -v beskar7-data:/var/lib/beskar7 \
#     beskar7:0.1.0
#
# --network host: the daemon belongs on the provisioning host's own network. proxyDHCP answers
#   the broadcasts of PXE clients on the provisioning segment, and a container behind Docker's
#   bridge and NAT never sees them; the addresses the daemon advertises to booting servers must
#   also be the host's own.
# --cap-add NET_BIND_SERVICE --cap-add NET_RAW: the boot servers bind UDP 67, 4011 and 69 (below
#   1024) as a non-root user. The image gives the node binary exactly these
#   two file capabilities, so both must be in the container's capability set: Docker's default set
#   has them, but Podman's lacks NET_RAW and `--cap-drop ALL` removes both; the flags make it
#   explicit. Without them the container fails at once with "exec ... operation not permitted".
# --stop-timeout 30: on SIGTERM the daemon lets requests finish for http.shutdownGraceSeconds
#   (default 15) and then closes the database cleanly; Docker's default 10 s would cut that short.
#
# First API token: printed once to the container's stderr at first start (`docker logs beskar7`).
# To create one without it ever reaching a log, set BESKAR7_AUTH_PRINT_INITIAL_ADMIN_TOKEN=false
# and run: docker exec beskar7 node dist/daemon/cli/main.js token create --name admin --offline
#
# Configuration: BESKAR7_* environment variables (-e), or a YAML file mounted read-only and named
# with -e BESKAR7_CONFIG=/etc/beskar7/config.yaml. `docker run --rm beskar7:0.1.0 config keys`
# lists every setting.
#
# Shim operator, the Cluster API infrastructure provider for the management cluster:
#
#   docker build --target shim -t ghcr.io/beskar7/beskar7-shim:v0.1.0 .
#
# It runs as a Deployment that clusterctl installs (shim-operator/infrastructure-components.yaml),
# needs no host network and no capabilities, and takes its settings from BESKAR7_* environment
# variables (shim-operator/src/config/settings.ts).

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: compile TypeScript and the native SQLite binding, then drop dev dependencies ----
FROM ${NODE_IMAGE} AS build
# better-sqlite3 compiles from source when no prebuilt binary matches (or cannot be downloaded).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- shim: the Cluster API provider (no boot servers, no state, no capabilities) ----
# Defined before the daemon so that a build without --target still produces the daemon.
FROM ${NODE_IMAGE} AS shim
ENV NODE_ENV=production
# A numeric uid/gid, so the kubelet can check runAsNonRoot against the image; the Deployment in
# shim-operator/config/manager/manager.yaml runs it as 10001:10001 as well.
RUN groupadd --system --gid 10001 beskar7 \
 && useradd --system --uid 10001 --gid beskar7 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin beskar7
WORKDIR /opt/beskar7
# Owned by root and read-only to the shim (the Deployment also mounts the root filesystem
# read-only). The shim imports the daemon's zod schemas and logger from dist/daemon; package.json
# carries "type": "module", which node needs to load dist/ as ES modules.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules/ ./node_modules/
COPY --from=build /src/dist/daemon/ ./dist/daemon/
COPY --from=build /src/dist/shim-operator/ ./dist/shim-operator/
USER 10001:10001
# /healthz and /readyz (BESKAR7_SHIM_HEALTH_PORT); the shim serves nothing else.
EXPOSE 8081/tcp
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/shim-operator/src/main.js"]

# ---- daemon: runtime only (no compiler, no sources, no dev dependencies) ----
FROM ${NODE_IMAGE} AS daemon
ENV NODE_ENV=production \
    BESKAR7_DATA_DIR=/var/lib/beskar7
# A fixed uid/gid so a volume or bind mount can be prepared for it on the host
# (chown 10001:10001). The data directory is 0700: it holds the database and the AES keys.
RUN groupadd --system --gid 10001 beskar7 \
 && useradd --system --uid 10001 --gid beskar7 --home-dir /var/lib/beskar7 --no-create-home --shell /usr/sbin/nologin beskar7 \
 && install -d -m 0700 -o beskar7 -g beskar7 /var/lib/beskar7
# --cap-add alone gives a non-root process nothing (Docker sets no ambient capabilities), and with
# --network host the container's unprivileged-port sysctl does not apply; file capabilities on
# node are what let the unprivileged daemon bind ports below 1024.
# ipxe: the iPXE binaries the TFTP server hands out (tftp.root=/usr/lib/ipxe).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ipxe libcap2-bin \
 && setcap cap_net_bind_service,cap_net_raw+ep "$(command -v node)" \
 && apt-get purge -y libcap2-bin \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/beskar7
# Owned by root and read-only to the daemon: it can change its state, never its code.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules/ ./node_modules/
COPY --from=build /src/dist/ ./dist/
COPY --from=build /src/db/migrations/ ./db/migrations/
COPY --from=build /src/ipxe-templates/ ./ipxe-templates/
USER beskar7:beskar7
VOLUME ["/var/lib/beskar7"]
# HTTP: REST API, /metrics, /docs, boot scripts and images.
EXPOSE 8082/tcp
# The boot servers (with --network host, EXPOSE is documentation only):
#   67/udp and 4011/udp  proxyDHCP
#   69/udp               TFTP (iPXE binaries)
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/daemon/cli/main.js"]
CMD ["daemon"]

