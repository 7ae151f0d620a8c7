# syntax=docker/dockerfile:1
# One image for every role: ODC_ROLES picks what a replica runs (README, "Roles"; helm/ for
# Kubernetes). Not built on the development machines (no Docker engine there): docs/operations.md.

ARG NODE_IMAGE=node:24-slim

# --- build: every dependency, a type-checked compile -----------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json .swcrc ./
COPY src ./src
COPY migrations ./migrations
COPY scripts ./scripts
COPY bench ./bench
RUN npm run build

# --- runtime: production dependencies only, code owned by root and read-only to the process ----
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="odc" \
      org.opencontainers.image.description="Open Developer Cloud: reserve GPU development environments across many Kubernetes clusters" \
      org.opencontainers.image.source="https://github.com/open-developer-cloud/odc" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# NODE_OPTIONS: the young generation's semi-spaces are those Node picks under a 1 GiB limit, on any
# host: without a memory limit Node sizes them from the machine's memory (64 MiB on 24 GB), which
# keeps about 100 MB more resident while idle (docs/performance.md#memory).
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=16 \
    ODC_ROLES=coordinator,worker,cron \
    ODC_PORT=8080 \
    ODC_DEPLOYER_PORT=8443
WORKDIR /app
COPY package.json package-lock.json ./
# Optional dependencies are the embedded PostgreSQL's server binaries (a development convenience:
# the image needs DATABASE_URL) and fallbacks nothing here uses.
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund \
    && npm cache clean --force
COPY --from=build /app/dist ./dist
# The process writes nothing: the root filesystem can be read-only.
USER 1000:1000
EXPOSE 8080 8443
# /livez on every listener this replica's roles open (worker/cron replicas: set ODC_OPS_PORT to
# be probed; a TLS deployer listener is checked for accepting connections).
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 CMD ["node", "dist/scripts/healthcheck.js"]
CMD ["node", "dist/src/main.js"]
