import GRDB

extension KnowledgeIndex {
    /// The knowledge base's own migrations, named "kb-…" so they sit beside the state store's in
    /// `grdb_migrations` without clashing. Never edit a shipped one: add a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("kb-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE kb_document (
                        id INTEGER PRIMARY KEY,
                        source TEXT NOT NULL UNIQUE,
                        title TEXT NOT NULL,
                        language TEXT NOT NULL,
                        territory TEXT,
                        tags TEXT NOT NULL DEFAULT '[]',
                        imported_at DOUBLE NOT NULL,
                        content_hash TEXT NOT NULL
                    );
                    CREATE TABLE kb_passage (
                        id INTEGER PRIMARY KEY,
                        document_id INTEGER NOT NULL REFERENCES kb_document(id) ON DELETE CASCADE,
                        position INTEGER NOT NULL,
                        heading TEXT NOT NULL,
                        text TEXT NOT NULL
                    );
                    CREATE INDEX kb_passage_document ON kb_passage(document_id, position);
                    CREATE TABLE kb_synonym (
                        group_id INTEGER NOT NULL,
                        term TEXT NOT NULL
                    );
                    CREATE TABLE kb_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                    """)
            // The stems of each passage, rowid = kb_passage.id. Our analysis has already folded, filtered
            // and stemmed the words, so unicode61 only has to split on the spaces between them.
            try db.execute(
                sql: """
                    CREATE VIRTUAL TABLE kb_passage_terms USING fts5(
                        title, heading, body, language UNINDEXED,
                        tokenize = 'unicode61 remove_diacritics 0'
                    );
                    INSERT INTO kb_passage_terms(kb_passage_terms, rank)
                        VALUES ('rank', 'bm25(\(titleWeight), \(headingWeight), 1.0, 0.0)');
                    """)
        }
        // Where a document can be read (front matter `url`, a fetched page's address), and the page a
        // passage starts on (PDF), so that an answer can cite "page 12".
        migrator.registerMigration("kb-v2") { db in
            try db.execute(
                sql: """
                    ALTER TABLE kb_document ADD COLUMN url TEXT;
                    ALTER TABLE kb_passage ADD COLUMN page INTEGER;
                    """)
        }
        // Dense vectors of passages, by the model that made them and the hash of the text it embedded, so that
        // a passage unchanged by a re-import keeps its vector and two models never mix.
        migrator.registerMigration("kb-v3") { db in
            try db.execute(
                sql: """
                    CREATE TABLE kb_vector (
                        model TEXT NOT NULL,
                        hash TEXT NOT NULL,
                        vector BLOB NOT NULL,
                        PRIMARY KEY (model, hash)
                    ) WITHOUT ROWID;
                    """)
        }
        // Documents a facilitator added from a chat room (`!kb add` on a shared file): the territory they belong
        // to (they answer only there), the room and file event they came from, who shared the file and who
        // added it. A row goes with its document (the cascade, and ``KnowledgeIndex/removeRoomDocument``).
        migrator.registerMigration("kb-v4-room-documents") { db in
            try db.execute(
                sql: """
                    CREATE TABLE kb_room_document (
                        document_id INTEGER PRIMARY KEY NOT NULL REFERENCES kb_document(id) ON DELETE CASCADE,
                        territory TEXT NOT NULL,
                        room_id TEXT NOT NULL,
                        file_event_id TEXT NOT NULL,
                        file_name TEXT NOT NULL,
                        shared_by TEXT NOT NULL,
                        shared_by_name TEXT NOT NULL,
                        added_by TEXT NOT NULL,
                        added_at DOUBLE NOT NULL
                    );
                    CREATE INDEX kb_room_document_territory ON kb_room_document(territory, added_at);
                    """)
        }
        return migrator
    }

    /// BM25 column weights: a word of the title or of the heading path says more about a passage than
    /// the same word in its body.
    static let titleWeight = 3.0
    static let headingWeight = 2.0
}
