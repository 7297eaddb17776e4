# Tollgate's image: the gateway (`tollgate`, the default command) and the cluster collector
# (`tollgate-collector`, also `tollgate-collector migrate`) from one image. docs/deployment.md.
#   docker build -t tollgate .
#   docker run -p 8080:8080 -p 9080:9080 tollgate --config /etc/tollgate/tollgate.yaml
# Build stage: dev dependencies, dist/ built, then production dependencies only (scripts/image/build.sh, which the
# test suite also runs outside a container).
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN scripts/image/build.sh

FROM node:24-bookworm-slim
# tini as PID 1: SIGTERM reaches the gateway, which drains, and zombies are reaped.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini=0.19.0-1 \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/scripts/bin ./scripts/bin
COPY --from=build /src/migrations ./migrations
COPY --from=build /src/gateway/examples ./gateway/examples
# The events log (embedded mode, and the Kafka sink's write-ahead log) and the single-node stores.
RUN mkdir -p /var/lib/tollgate/events /var/lib/tollgate/data \
  && chown -R 1000:1000 /var/lib/tollgate \
  && ln -s /app/scripts/bin/tollgate /usr/local/bin/tollgate \
  && ln -s /app/scripts/bin/tollgate-collector /usr/local/bin/tollgate-collector
VOLUME ["/var/lib/tollgate/events", "/var/lib/tollgate/data"]
ENV NODE_ENV=production \
  TOLLGATE_EVENTS_DIR=/var/lib/tollgate/events \
  TOLLGATE_STORE_DIR=/var/lib/tollgate/data \
  TOLLGATE_PROXY_LISTEN=0.0.0.0:8080
# The base image's `node` user, by number so the host and Kubernetes (runAsNonRoot) can check it.
USER 1000:1000
EXPOSE 8080 9080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9080/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# The quick start, demo upstreams included; the admin API stays on 127.0.0.1 until TOLLGATE_ADMIN_LISTEN and
# TOLLGATE_ADMIN_TOKEN open it.
CMD ["tollgate", "--config", "/app/gateway/examples/quickstart.yaml", "--demo"]
