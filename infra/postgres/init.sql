-- Compose only: the databases and the replication login that scripts/infra.sh creates locally.
CREATE ROLE outbox_relay WITH LOGIN REPLICATION;
CREATE DATABASE orders;
CREATE DATABASE inventory;
CREATE DATABASE payments;
CREATE DATABASE notifications;
