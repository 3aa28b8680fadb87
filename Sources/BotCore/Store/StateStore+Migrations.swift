import Foundation
import GRDB

extension StateStore {
    /// Named migrations, applied in order: the engine's, then each extension's. Never edit a shipped one:
    /// add a new one.
    static func migrator(extensions: [any EngineExtension] = []) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-core") { db in
            try db.execute(
                sql: """
                    CREATE TABLE processed_event (
                        event_id TEXT PRIMARY KEY NOT NULL,
                        room_id TEXT NOT NULL,
                        processed_at DOUBLE NOT NULL
                    );
                    CREATE TABLE outbox (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        cause_event_id TEXT NOT NULL,
                        room_id TEXT NOT NULL,
                        payload TEXT NOT NULL,
                        created_at DOUBLE NOT NULL,
                        delivered_at DOUBLE
                    );
                    CREATE INDEX outbox_pending ON outbox(delivered_at, seq);
                    CREATE TABLE cursor (name TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                    CREATE TABLE setting (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                    CREATE TABLE session (
                        key TEXT PRIMARY KEY NOT NULL,
                        dialogue_id TEXT NOT NULL,
                        room_id TEXT NOT NULL,
                        status TEXT NOT NULL,
                        state TEXT NOT NULL,
                        started_at DOUBLE NOT NULL,
                        updated_at DOUBLE NOT NULL
                    );
                    CREATE INDEX session_room ON session(room_id, status);
                    CREATE INDEX session_idle ON session(status, updated_at);
                    CREATE TABLE answer (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        session_key TEXT NOT NULL,
                        dialogue_id TEXT NOT NULL,
                        room_id TEXT NOT NULL,
                        territory TEXT,
                        step_id TEXT NOT NULL,
                        variable TEXT NOT NULL,
                        value TEXT NOT NULL,
                        display TEXT NOT NULL,
                        comment TEXT,
                        author_id TEXT NOT NULL,
                        author_name TEXT NOT NULL,
                        event_id TEXT NOT NULL,
                        answered_at DOUBLE NOT NULL
                    );
                    CREATE INDEX answer_session ON answer(session_key, step_id);
                    CREATE INDEX answer_event ON answer(event_id);
                    CREATE TABLE room_setting (
                        room_id TEXT PRIMARY KEY NOT NULL,
                        language TEXT,
                        territory TEXT
                    );
                    CREATE TABLE ask_state (
                        room_id TEXT NOT NULL,
                        user_id TEXT NOT NULL,
                        query TEXT NOT NULL,
                        next_offset INTEGER NOT NULL,
                        PRIMARY KEY (room_id, user_id)
                    );
                    CREATE TABLE user_setting (
                        user_id TEXT PRIMARY KEY NOT NULL,
                        language TEXT
                    );
                    """)
        }
        migrator.registerMigration("v2-discussed") { db in
            try db.execute(
                sql: """
                    CREATE TABLE discussed_step (
                        session_key TEXT NOT NULL,
                        dialogue_id TEXT NOT NULL,
                        room_id TEXT NOT NULL,
                        territory TEXT,
                        step_id TEXT NOT NULL,
                        by_id TEXT NOT NULL,
                        at DOUBLE NOT NULL,
                        PRIMARY KEY (session_key, dialogue_id, step_id)
                    );
                    CREATE INDEX discussed_territory ON discussed_step(territory, dialogue_id);
                    """)
        }
        migrator.registerMigration("v3-territory-invitations") { db in
            try db.execute(
                sql: """
                    CREATE TABLE territory_invitation (
                        code TEXT PRIMARY KEY NOT NULL,
                        territory TEXT NOT NULL,
                        created_by TEXT NOT NULL,
                        expires_at DOUBLE NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v4-fewer-pages-per-turn") { db in
            // Every turn writes these tables; each index is one more page in its commit. The dropped
            // ones served queries that run once a minute or at start-up, where a scan costs nothing.
            try db.execute(
                sql: """
                    DROP INDEX session_room;
                    DROP INDEX session_idle;
                    DROP INDEX outbox_pending;
                    CREATE TABLE processed_event_new (
                        event_id TEXT PRIMARY KEY NOT NULL,
                        room_id TEXT NOT NULL,
                        processed_at DOUBLE NOT NULL
                    ) WITHOUT ROWID;
                    INSERT INTO processed_event_new SELECT event_id, room_id, processed_at FROM processed_event;
                    DROP TABLE processed_event;
                    ALTER TABLE processed_event_new RENAME TO processed_event;
                    """)
        }
        migrator.registerMigration("v5-no-sequence-pages") { db in
            // AUTOINCREMENT keeps a counter row in sqlite_sequence that every insert rewrites (one more
            // page per commit); a plain INTEGER PRIMARY KEY still numbers new rows above every existing
            // one. The outbox's unique index on the reply id goes too: replies are marked delivered by
            // their row number, which the engine keeps from the insert.
            try db.execute(
                sql: """
                    CREATE TABLE outbox_new (
                        seq INTEGER PRIMARY KEY,
                        id TEXT NOT NULL,
                        cause_event_id TEXT NOT NULL,
                        room_id TEXT NOT NULL,
                        payload TEXT NOT NULL,
                        created_at DOUBLE NOT NULL,
                        delivered_at DOUBLE
                    );
                    INSERT INTO outbox_new SELECT seq, id, cause_event_id, room_id, payload, created_at, delivered_at FROM outbox;
                    DROP TABLE outbox;
                    ALTER TABLE outbox_new RENAME TO outbox;
                    CREATE TABLE answer_new (
                        id INTEGER PRIMARY KEY,
                        session_key TEXT NOT NULL,
                        dialogue_id TEXT NOT NULL,
                        room_id TEXT NOT NULL,
                        territory TEXT,
                        step_id TEXT NOT NULL,
                        variable TEXT NOT NULL,
                        value TEXT NOT NULL,
                        display TEXT NOT NULL,
                        comment TEXT,
                        author_id TEXT NOT NULL,
                        author_name TEXT NOT NULL,
                        event_id TEXT NOT NULL,
                        answered_at DOUBLE NOT NULL
                    );
                    INSERT INTO answer_new SELECT id, session_key, dialogue_id, room_id, territory, step_id, variable, value, display,
                        comment, author_id, author_name, event_id, answered_at FROM answer;
                    DROP TABLE answer;
                    ALTER TABLE answer_new RENAME TO answer;
                    CREATE INDEX answer_session ON answer(session_key, step_id);
                    CREATE INDEX answer_event ON answer(event_id);
                    """)
        }
        migrator.registerMigration("v6-room-runs") { db in
            // A comment can come in a message of its own (a reply to the question): its event id lets an
            // edit or a redaction of that message reach the comment. An answer belongs to a run of its
            // session (NULL: written before runs were numbered, run 1), so a new run never replaces an
            // earlier run's answers and reports count each person's latest per run. Rooms choose whether
            // questions offer reactions.
            try db.execute(
                sql: """
                    ALTER TABLE answer ADD COLUMN comment_event_id TEXT;
                    ALTER TABLE answer ADD COLUMN run INTEGER;
                    ALTER TABLE room_setting ADD COLUMN reactions INTEGER;
                    """)
        }
        migrator.registerMigration("v7-corrections") { db in
            // Facilitators correct from the chat: an answer removed stays, marked (reports strike it out, and
            // `!answers restore` brings it back); every correction, of an answer or of an extension's data
            // (a star, a pebble), is one row saying who made it, when, and what it was before. A room keeps
            // the name its adapter last saw (reports show names, not ids).
            try db.execute(
                sql: """
                    ALTER TABLE answer ADD COLUMN removed_at DOUBLE;
                    ALTER TABLE answer ADD COLUMN removed_by TEXT;
                    ALTER TABLE room_setting ADD COLUMN name TEXT;
                    CREATE TABLE correction (
                        id INTEGER PRIMARY KEY,
                        room_id TEXT NOT NULL,
                        territory TEXT,
                        by_id TEXT NOT NULL,
                        by_name TEXT NOT NULL,
                        at DOUBLE NOT NULL,
                        action TEXT NOT NULL,
                        target TEXT NOT NULL,
                        before TEXT,
                        after TEXT
                    );
                    """)
        }
        migrator.registerMigration("v7-private-invitations") { db in
            // Issue 21: codes were derived from the asking event's id (computable by anyone who saw it):
            // every outstanding one is void. A code is now random, for one target room; the engine
            // remembers each person's direct room (where codes go) and wrong codes (lockout).
            try db.execute(
                sql: """
                    DROP TABLE territory_invitation;
                    CREATE TABLE territory_invitation (
                        code TEXT PRIMARY KEY NOT NULL,
                        territory TEXT NOT NULL,
                        target_room TEXT NOT NULL,
                        created_by TEXT NOT NULL,
                        created_in TEXT NOT NULL,
                        expires_at DOUBLE NOT NULL
                    );
                    CREATE TABLE direct_room (
                        user_id TEXT PRIMARY KEY NOT NULL,
                        room_id TEXT NOT NULL
                    );
                    CREATE INDEX direct_room_room ON direct_room(room_id);
                    CREATE TABLE territory_join_failure (
                        user_id TEXT NOT NULL,
                        room_id TEXT NOT NULL,
                        at DOUBLE NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v8-territory-entities") { db in
            // Issue 21: a territory is an entity with an id; its names are labels. Every name it has had
            // stays its own (a former name finds it, nobody else takes it). Tables that recorded names now
            // record ids; the extensions' own migrations do the same for their tables.
            try db.execute(
                sql: """
                    CREATE TABLE territory (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        created_by TEXT,
                        created_at DOUBLE NOT NULL
                    );
                    CREATE TABLE territory_name (
                        key TEXT PRIMARY KEY NOT NULL,
                        territory_id TEXT NOT NULL REFERENCES territory(id),
                        name TEXT NOT NULL,
                        since DOUBLE NOT NULL
                    );
                    """)
            let now = Date()
            // Rooms first: a territory takes the spelling its rooms were bound with.
            for table in ["room_setting", "answer", "discussed_step", "territory_invitation", "correction"] {
                try Territory.migrateNamesToIDs(in: table, at: now, db)
            }
        }
        migrator.registerMigration("v8-dialogue-sends") { db in
            // Issue 19: `!send NAME` starts a person dialogue for each member of a group room. A send
            // remembers who got which run, so `!send status` says who has finished, and when to remind
            // the others: `reminded_at` is set in the transaction that queues the reminders, so a restart
            // neither loses nor repeats one.
            try db.execute(
                sql: """
                    CREATE TABLE dialogue_send (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        room_id TEXT NOT NULL,
                        dialogue_id TEXT NOT NULL,
                        sent_by TEXT NOT NULL,
                        sent_at DOUBLE NOT NULL,
                        remind_at DOUBLE,
                        reminded_at DOUBLE
                    );
                    CREATE INDEX dialogue_send_room ON dialogue_send(room_id, id);
                    CREATE INDEX dialogue_send_due ON dialogue_send(remind_at) WHERE reminded_at IS NULL AND remind_at IS NOT NULL;
                    CREATE TABLE dialogue_send_member (
                        send_id INTEGER NOT NULL REFERENCES dialogue_send(id) ON DELETE CASCADE,
                        user_id TEXT NOT NULL,
                        user_name TEXT NOT NULL,
                        session_key TEXT NOT NULL,
                        run INTEGER NOT NULL,
                        PRIMARY KEY (send_id, user_id)
                    );
                    """)
        }
        migrator.registerMigration("v8-kbroom-shared-files") { db in
            // Files shared in rooms, so that a facilitator's `!kb add` (a reply to one, or the latest of the room)
            // finds what to fetch. Only what the adapter said of them; `sealed` holds an encrypted file's key.
            try db.execute(
                sql: """
                    CREATE TABLE shared_file (
                        event_id TEXT PRIMARY KEY NOT NULL,
                        room_id TEXT NOT NULL,
                        sender_id TEXT NOT NULL,
                        sender_name TEXT NOT NULL,
                        file_name TEXT NOT NULL,
                        mime_type TEXT,
                        size INTEGER,
                        location TEXT NOT NULL,
                        sealed TEXT,
                        shared_at DOUBLE NOT NULL
                    );
                    CREATE INDEX shared_file_room ON shared_file(room_id, shared_at);
                    """)
        }
        for e in extensions { e.registerMigrations(&migrator) }
        return migrator
    }
}
