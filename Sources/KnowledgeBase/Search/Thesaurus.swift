import Foundation
import GRDB
import Yams

/// Groups of words that mean the same thing for search ("town", "municipality", "commune", "ville"),
/// read from `knowledge/synonyms.yaml` at import and applied at query time only: the index keeps the
/// words as written, and editing the synonyms never needs a re-index.
///
/// Entries are matched on stems in both languages, so "towns" finds the group of "town", and an entry
/// may have several words ("local authority"), matched as a phrase.
struct Thesaurus: Sendable {
    struct Entry: Sendable {
        var group: Int
        var french: [String]
        var english: [String]
    }

    private(set) var entries: [Entry] = []
    /// Entries by the stems of their first word, longest entries first.
    private var byFirstStem: [String: [Int]] = [:]

    static let empty = Thesaurus(groups: [])

    init(groups: [[String]]) {
        for (group, words) in groups.enumerated() {
            for entry in words {
                let terms = SearchQuery.significantWords(of: entry)
                guard !terms.isEmpty else { continue }
                let index = entries.count
                entries.append(Entry(group: group, french: terms.map(\.french), english: terms.map(\.english)))
                for stem in Set([terms[0].french, terms[0].english]) { byFirstStem[stem, default: []].append(index) }
            }
        }
        for key in byFirstStem.keys {
            byFirstStem[key]?.sort { entries[$0].french.count > entries[$1].french.count }
        }
    }

    /// The synonym group of the entry that starts at `words[position]`, and how many words it covers.
    func match(_ words: [SearchQuery.Word], at position: Int) -> (group: Int, length: Int)? {
        let word = words[position]
        var candidates = byFirstStem[word.french] ?? []
        if word.english != word.french { candidates += byFirstStem[word.english] ?? [] }
        for index in candidates {
            let entry = entries[index]
            let length = entry.french.count
            guard position + length <= words.count else { continue }
            let matches = (0..<length).allSatisfy { offset in
                let candidate = words[position + offset]
                return candidate.french == entry.french[offset] || candidate.english == entry.english[offset]
            }
            if matches { return (entry.group, length) }
        }
        return nil
    }

    func entries(inGroup group: Int) -> [Entry] {
        entries.filter { $0.group == group }
    }

    // MARK: Reading and storing

    /// Reads a synonyms file: either a list of groups, or `groups:` followed by that list; each group a
    /// list of words or phrases.
    /// - Throws: ``KnowledgeError/invalidSynonyms(path:reason:)``.
    static func groups(fromYAML yaml: String, path: String) throws -> [[String]] {
        let loaded: Any?
        do {
            loaded = try Yams.load(yaml: yaml)
        } catch {
            throw KnowledgeError.invalidSynonyms(path: path, reason: "not YAML (\("\(error)".prefix(200)))")
        }
        let list: [Any]
        if let direct = loaded as? [Any] {
            list = direct
        } else if let map = loaded as? [String: Any], let nested = map["groups"] as? [Any] {
            list = nested
        } else {
            throw KnowledgeError.invalidSynonyms(path: path, reason: "expected a list of groups of words")
        }
        return try list.enumerated().map { index, group in
            guard let words = group as? [Any] else {
                throw KnowledgeError.invalidSynonyms(path: path, reason: "group \(index + 1) is not a list")
            }
            return words.compactMap { $0 as? String ?? ($0 as? Int).map(String.init) }
        }
    }

    /// Replaces the stored synonyms with `groups`.
    /// - Returns: false when they were already the same (the revision, and so the caches, stay as they are).
    static func store(_ groups: [[String]], _ db: Database) throws -> Bool {
        var stored: [Int: [String]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT group_id, term FROM kb_synonym ORDER BY rowid") {
            stored[row[0], default: []].append(row[1])
        }
        if stored.keys.sorted().map({ stored[$0]! }) == groups.filter({ !$0.isEmpty }) { return false }
        try db.execute(sql: "DELETE FROM kb_synonym")
        let insert = try db.cachedStatement(sql: "INSERT INTO kb_synonym(group_id, term) VALUES (?, ?)")
        for (group, words) in groups.enumerated() {
            for word in words { try insert.execute(arguments: [group, word]) }
        }
        try db.execute(
            sql: """
                INSERT INTO kb_meta(key, value) VALUES ('synonyms-revision', '1')
                ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1
                """)
        return true
    }
}

/// The thesaurus of the database, reloaded only when an import changed the synonyms (even an import
/// run by another process: the revision is read from the database on every search, one indexed row).
final class SynonymCache: @unchecked Sendable {
    private let lock = NSLock()
    private var revision: String?
    private var thesaurus = Thesaurus.empty

    func thesaurus(_ db: Database) throws -> Thesaurus {
        let current =
            try String.fetchOne(db, sql: "SELECT value FROM kb_meta WHERE key = 'synonyms-revision'") ?? "0"
        if let cached = lock.withLock({ revision == current ? thesaurus : nil }) { return cached }
        var groups: [Int: [String]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT group_id, term FROM kb_synonym ORDER BY rowid") {
            groups[row[0], default: []].append(row[1])
        }
        let loaded = Thesaurus(groups: groups.keys.sorted().compactMap { groups[$0] })
        lock.withLock {
            revision = current
            thesaurus = loaded
        }
        return loaded
    }
}
