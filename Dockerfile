# One image for the six processes; pick one with the command, e.g. `order-service/src/main.ts`.
FROM node:26-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY lib/package.json lib/
COPY order-service/package.json order-service/
COPY inventory-service/package.json inventory-service/
COPY payment-service/package.json payment-service/
COPY notification-service/package.json notification-service/
COPY outbox-relay/package.json outbox-relay/
COPY ops-console/package.json ops-console/
COPY testkit/package.json testkit/
# Node runs our TypeScript itself (type stripping); the prisma CLI only generates the clients below.
RUN npm ci --omit=dev --include=optional && npm i --no-save prisma@7.10.1
COPY . .
RUN for s in orders inventory payments notifications; do npx prisma generate --config prisma/$s/prisma.config.ts; done
ENV HOST=0.0.0.0 NODE_ENV=production
ENTRYPOINT ["node"]
