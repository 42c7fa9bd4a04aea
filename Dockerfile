# authpolicy-operator: build with dev dependencies, run with production ones only.
# No dependency needs an install script (package-lock.json has no hasInstallScript), so none runs.
# test/e2e/cli.test.ts repeats the final stage's install and runs the result as a kubectl plugin.
# Base: the official Node.js 24 LTS image, pinned by version (pin a digest where your registry is reachable).
# Multi-architecture: the base is published for amd64 and arm64 and no npm package has native code, so
# `docker buildx build --platform linux/amd64,linux/arm64 .` works; `make image` builds both without Docker (docs/image.md).
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM node:24.21.0-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
# check -f validates offline against the CRD's own schema.
COPY crds ./crds
# Non-root, numeric (runAsNonRoot can verify it).
USER 65532:65532
ENTRYPOINT ["node", "/app/bin/authpolicy-operator.js"]
CMD ["run"]
