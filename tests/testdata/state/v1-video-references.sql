-- A camwatch state database as 2317ef3 to 138c079: video_references created on first use, still version 1.
-- Written by that release's own monitor/state.py (git show 138c079:monitor/state.py), dumped with
-- sqlite3 iterdump; tests/test_state_migrations.py builds the database from it and upgrades it.
PRAGMA user_version=1;
BEGIN TRANSACTION;
CREATE TABLE camera_state (
    camera TEXT PRIMARY KEY,
    up INTEGER,
    status TEXT NOT NULL,
    faults TEXT NOT NULL DEFAULT '[]',
    since REAL NOT NULL,
    last_probe REAL NOT NULL,
    flaps INTEGER NOT NULL DEFAULT 0
);
INSERT INTO "camera_state" VALUES('gate',0,'offline','[]',1780000600.0,1780000600.0,1);
INSERT INTO "camera_state" VALUES('yard',1,'frozen','["frozen", "clock_skew"]',1780000900.0,1780000960.0,0);
CREATE TABLE device_identity (
    camera TEXT PRIMARY KEY,
    serial TEXT NOT NULL,
    firmware TEXT NOT NULL DEFAULT '',
    clock_offset REAL,
    ts REAL NOT NULL
);
INSERT INTO "device_identity" VALUES('yard','SN-0042','V5.7.3 build 230101',1.5,1780000030.0);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    camera TEXT NOT NULL,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO "events" VALUES(1,'yard',1780000030.0,'rebooted','{"clock_jump_seconds": 3600.0}');
CREATE TABLE maintenance (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    camera TEXT NOT NULL,
    start REAL NOT NULL,
    until REAL,
    reason TEXT NOT NULL DEFAULT '',
    stopped REAL
);
INSERT INTO "maintenance" VALUES(1,'gate',1780000700.0,1780007200.0,'fibre repair 光纤',1780003600.0);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    last_seen REAL NOT NULL
);
INSERT INTO "runs" VALUES(1,1780000000.0,1780001200.0);
CREATE TABLE transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    camera TEXT NOT NULL,
    ts REAL NOT NULL,
    prev_status TEXT,
    status TEXT NOT NULL,
    up INTEGER NOT NULL,
    working INTEGER NOT NULL,
    faults TEXT NOT NULL DEFAULT '[]'
);
INSERT INTO "transitions" VALUES(1,'gate',1780000000.0,NULL,'ok',1,1,'[]');
INSERT INTO "transitions" VALUES(2,'yard',1780000001.0,NULL,'ok',1,1,'[]');
INSERT INTO "transitions" VALUES(3,'gate',1780000600.0,'ok','offline',0,0,'[]');
INSERT INTO "transitions" VALUES(4,'yard',1780000900.0,'ok','frozen',1,0,'["frozen", "clock_skew"]');
CREATE TABLE video_references (
    camera TEXT NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    value BLOB NOT NULL,
    ts REAL NOT NULL,
    PRIMARY KEY (camera, key)
);
INSERT INTO "video_references" VALUES('yard','sharpness','number',X'34312E3235',1780001000.0);
CREATE INDEX transitions_camera_ts ON transitions (camera, ts);
CREATE INDEX maintenance_camera ON maintenance (camera);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('runs',1);
INSERT INTO "sqlite_sequence" VALUES('transitions',4);
INSERT INTO "sqlite_sequence" VALUES('events',1);
INSERT INTO "sqlite_sequence" VALUES('maintenance',1);
COMMIT;
