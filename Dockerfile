# syntax=docker/dockerfile:1
# One image for every role: ODC_ROLES picks what a replica runs (see README, "Roles").
# Not built on the development machines (no Docker engine there): see docs/operations.md.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json .swcrc ./
COPY src ./src
COPY migrations ./migrations
COPY scripts ./scripts
COPY bench ./bench
RUN npm run build && npm prune --omit=dev

FROM node:24-slim AS runtime
ENV NODE_ENV=production \
    ODC_ROLES=coordinator,worker,cron \
    ODC_PORT=8080 \
    ODC_DEPLOYER_PORT=8443
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
USER node
EXPOSE 8080 8443
# /healthz on every listener this replica's roles open (worker/cron replicas: set ODC_OPS_PORT to be probed).
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 CMD ["node", "dist/scripts/healthcheck.js"]
CMD ["node", "dist/src/main.js"]
