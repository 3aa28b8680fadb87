import Foundation
import GRDB
import KnowledgeBase

/// A file shared in a room, as the engine remembers it for `!kb add`.
struct StoredSharedFile: Sendable {
    var eventID: String
    var roomID: String
    var senderID: String
    var senderName: String
    var file: SharedFile
}

/// What a `!kb add` will do, decided the same way before the file is fetched (``Engine/fetchFile(for:from:)``)
/// and in the transaction that records it.
enum KnowledgeAddDecision {
    case fetch(StoredSharedFile)
    case refuse(KnowledgeAddRefusal)
}

enum KnowledgeAddRefusal {
    case noKnowledgeBase
    case notFacilitator
    case noTerritory
    /// No file was shared in the room (lately).
    case noFile
    /// The message replies to something that is not a shared file.
    case notAFile
    case tooLarge(name: String, size: Int, limit: Int)
    /// Declared as an image, a sound or a video.
    case notAccepted(name: String, mimeType: String)
}

/// Documents added to the knowledge base from a room: `!kb add` (a reply to a shared file, or the room's
/// latest one), `!kb list`, `!kb remove`. Facilitators add and remove; a document belongs to the room's
/// territory and answers only in rooms of that territory.
extension Turn {
    static let addWords: Set<String> = ["add", "ajouter", "ajoute"]
    static let removeWords: Set<String> = ["remove", "retirer", "retire", "supprimer", "supprime", "delete", "rm"]
    static let listWords: Set<String> = ["list", "liste", "ls"]
    /// Sections named in the reply to `!kb add`; the rest are counted.
    static let sectionsShown = 8

    /// Keeps a file someone shared, for a later `!kb add`. Said nothing in a group room (people share files
    /// with each other); in a direct room, says what can be done with it.
    mutating func rememberSharedFile(_ file: SharedFile, _ message: IncomingMessage) throws {
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO shared_file(event_id, room_id, sender_id, sender_name, file_name, mime_type, size, location, sealed,
                    shared_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                message.eventID, message.roomID, message.senderID, message.senderName, file.fileName, file.mimeType, file.size,
                file.location, file.sealed, now.timeIntervalSince1970,
            ])
        guard message.roomKind == .direct else { return }
        let language = try self.language(for: message)
        reply(
            language.pick(
                "I keep this file. A facilitator can add it to the knowledge base by replying `\(prefix)kb add` to it.",
                "Je garde ce fichier. Un·e facilitateur·rice peut l'ajouter à la base de connaissances en y répondant `\(prefix)kb add`."),
            to: message)
    }

    /// The decision for the `!kb add` in `message`, or nil when it holds no such command.
    func addDecision(forCommandIn message: IncomingMessage) throws -> KnowledgeAddDecision? {
        guard message.file == nil else { return nil }
        let trimmed = stripBotName(message.text).0.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix(prefix) else { return nil }
        let words = trimmed.dropFirst(prefix.count).split(separator: " ", maxSplits: 2).map { TextMatching.fold(String($0)) }
        guard words.count >= 2, words[0] == "kb", Self.addWords.contains(words[1]) else { return nil }
        return try addDecision(message)
    }

    func addDecision(_ message: IncomingMessage) throws -> KnowledgeAddDecision {
        guard engine.knowledge != nil else { return .refuse(.noKnowledgeBase) }
        guard message.senderIsFacilitator else { return .refuse(.notFacilitator) }
        guard try territory(of: message.roomID) != nil else { return .refuse(.noTerritory) }
        let file: StoredSharedFile
        if let target = message.replyToEventID {
            guard let found = try sharedFile(eventID: target, roomID: message.roomID) else { return .refuse(.notAFile) }
            file = found
        } else {
            guard let latest = try sharedFile(eventID: nil, roomID: message.roomID) else { return .refuse(.noFile) }
            file = latest
        }
        let limit = engine.configuration.maximumSharedFileSize
        if let size = file.file.size, size > limit {
            return .refuse(.tooLarge(name: file.file.fileName, size: size, limit: limit))
        }
        if let type = file.file.mimeType?.lowercased(), ["image/", "audio/", "video/"].contains(where: type.hasPrefix) {
            return .refuse(.notAccepted(name: file.file.fileName, mimeType: type))
        }
        return .fetch(file)
    }

    /// The file shared as `eventID` in the room, or the room's latest one when `eventID` is nil.
    func sharedFile(eventID: String?, roomID: String) throws -> StoredSharedFile? {
        let row =
            if let eventID {
                try Row.fetchOne(db, sql: "SELECT * FROM shared_file WHERE event_id = ? AND room_id = ?", arguments: [eventID, roomID])
            } else {
                try Row.fetchOne(
                    db, sql: "SELECT * FROM shared_file WHERE room_id = ? ORDER BY shared_at DESC, rowid DESC LIMIT 1", arguments: [roomID])
            }
        guard let row else { return nil }
        return StoredSharedFile(
            eventID: row["event_id"], roomID: row["room_id"], senderID: row["sender_id"], senderName: row["sender_name"],
            file: SharedFile(
                fileName: row["file_name"], mimeType: row["mime_type"], size: row["size"], location: row["location"], sealed: row["sealed"])
        )
    }

    // MARK: The command

    /// `!kb add`, `!kb list`, `!kb remove N|TITLE` (or in reply to the file).
    mutating func knowledgeCommand(_ argument: String, _ message: IncomingMessage, _ language: Language) throws {
        let parts = argument.split(separator: " ", maxSplits: 1)
        let word = parts.first.map { TextMatching.fold(String($0)) } ?? ""
        let rest = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespacesAndNewlines) : ""
        if Self.addWords.contains(word) {
            try addSharedFile(message, language)
        } else if Self.removeWords.contains(word) {
            try removeRoomDocument(rest, message, language)
        } else if Self.listWords.contains(word) || word.isEmpty {
            try listRoomDocuments(message, language)
        } else {
            reply(
                language.pick(
                    "Say `\(prefix)kb add` in reply to a file shared here, `\(prefix)kb list` for the documents added in this territory, or `\(prefix)kb remove N`.",
                    "Dites `\(prefix)kb add` en réponse à un fichier partagé ici, `\(prefix)kb list` pour les documents ajoutés dans ce territoire, ou `\(prefix)kb remove N`."
                ), to: message)
        }
    }

    mutating func addSharedFile(_ message: IncomingMessage, _ language: Language) throws {
        switch try addDecision(message) {
        case .refuse(let refusal):
            reply(Self.text(refusal, language, prefix: prefix), to: message)
        case .fetch(let file):
            let name = Self.quoted(file.file.fileName)
            guard let fetched, fetched.fileEventID == file.eventID, let knowledge = engine.knowledge,
                let territory = try territory(of: message.roomID)
            else {
                reply(Self.text(.unsupported, name: name, language, prefix: prefix), to: message)
                return
            }
            switch fetched.outcome {
            case .notFetched(let error):
                reply(Self.text(error, name: name, language, prefix: prefix), to: message)
            case .unreadable(let problem):
                reply(Self.text(problem, name: name, language), to: message)
            case .read(let upload):
                let source = RoomDocument.source(roomID: file.roomID, fileEventID: file.eventID)
                let again = try knowledge.roomDocuments(db, territory: territory.id).contains { $0.source == source }
                try knowledge.addRoomDocument(
                    db, upload, territory: territory.id, territoryName: territory.name, roomID: file.roomID, fileEventID: file.eventID,
                    fileName: file.file.fileName,
                    sharedBy: file.senderID, sharedByName: file.senderName, addedBy: message.senderID, at: now)
                reply(learnt(upload, file: file, territory: territory.name, again: again, language), to: message)
            }
        }
    }

    /// "I added *Title* …": what the room now finds in the knowledge base.
    func learnt(_ upload: PreparedUpload, file: StoredSharedFile, territory: String, again: Bool, _ l: Language) -> String {
        let title = "**" + Markdown.escape(upload.title) + "**"
        let name = Self.quoted(file.file.fileName)
        let who = Markdown.escape(file.senderName)
        let place = Markdown.escape(territory)
        let n = upload.passages
        var text =
            again
            ? l.pick(
                "I read \(name) again: \(title) is up to date in the knowledge base of \(place) (\(n) passage\(n == 1 ? "" : "s")).",
                "J'ai relu \(name) : \(title) est à jour dans la base de connaissances de \(place) (\(n) passage\(n == 1 ? "" : "s")).")
            : l.pick(
                "I added \(title) to the knowledge base of \(place), from \(name) shared by \(who) (\(n) passage\(n == 1 ? "" : "s")).",
                "J'ai ajouté \(title) à la base de connaissances de \(place), depuis \(name) partagé par \(who) (\(n) passage\(n == 1 ? "" : "s"))."
            )
        if !upload.sections.isEmpty {
            text += "\n" + l.pick("Sections:", "Sections :")
            for section in upload.sections.prefix(Self.sectionsShown) { text += "\n- " + Markdown.escape(section) }
            let more = upload.sections.count - Self.sectionsShown
            if more > 0 { text += "\n" + l.pick("- and \(more) more", "- et \(more) autre\(more == 1 ? "" : "s")") }
        } else if let pages = upload.pages {
            text += " " + l.pick("\(pages) page\(pages == 1 ? "" : "s") of text.", "\(pages) page\(pages == 1 ? "" : "s") de texte.")
        }
        text +=
            "\n"
            + l.pick(
                "Ask about it with `\(prefix)ask`; it answers in this territory's rooms only. `\(prefix)kb remove` in reply to the file takes it out.",
                "Interrogez-le avec `\(prefix)ask` ; il répond dans les salons de ce territoire seulement. `\(prefix)kb remove` en réponse au fichier le retire."
            )
        return text
    }

    mutating func listRoomDocuments(_ message: IncomingMessage, _ language: Language) throws {
        guard let knowledge = engine.knowledge else {
            reply(Self.text(KnowledgeAddRefusal.noKnowledgeBase, language, prefix: prefix), to: message)
            return
        }
        guard let territory = try territory(of: message.roomID) else {
            reply(Self.text(KnowledgeAddRefusal.noTerritory, language, prefix: prefix), to: message)
            return
        }
        let documents = try knowledge.roomDocuments(db, territory: territory.id)
        let place = Markdown.escape(territory.name)
        guard !documents.isEmpty else {
            reply(
                language.pick(
                    "No document has been added in \(place) yet. A facilitator adds one by replying `\(prefix)kb add` to a file shared here.",
                    "Aucun document n'a encore été ajouté dans \(place). Un·e facilitateur·rice en ajoute un en répondant `\(prefix)kb add` à un fichier partagé ici."
                ), to: message)
            return
        }
        var lines = [language.pick("**Documents added in \(place):**", "**Documents ajoutés dans \(place) :**")]
        for (index, document) in documents.enumerated() {
            lines.append(
                "\(index + 1). **\(Markdown.escape(document.title))** — \(Self.quoted(document.fileName)), "
                    + language.pick("shared by ", "partagé par ") + Markdown.escape(document.sharedByName))
        }
        lines.append(
            language.pick("`\(prefix)kb remove N` takes one out (facilitators).", "`\(prefix)kb remove N` en retire un (facilitateurs)."))
        reply(lines.joined(separator: "\n"), to: message)
    }

    mutating func removeRoomDocument(_ argument: String, _ message: IncomingMessage, _ language: Language) throws {
        guard let knowledge = engine.knowledge else {
            reply(Self.text(KnowledgeAddRefusal.noKnowledgeBase, language, prefix: prefix), to: message)
            return
        }
        guard message.senderIsFacilitator else {
            reply(
                language.pick(
                    "Only a facilitator can remove documents from the knowledge base.",
                    "Seul·e un·e facilitateur·rice peut retirer des documents de la base de connaissances."), to: message)
            return
        }
        guard let territory = try territory(of: message.roomID) else {
            reply(Self.text(KnowledgeAddRefusal.noTerritory, language, prefix: prefix), to: message)
            return
        }
        let documents = try knowledge.roomDocuments(db, territory: territory.id)
        let target: RoomDocument
        if argument.isEmpty {
            guard let fileEvent = message.replyToEventID else {
                reply(
                    language.pick(
                        "Say `\(prefix)kb remove N` with the number `\(prefix)kb list` shows, or reply `\(prefix)kb remove` to the file.",
                        "Dites `\(prefix)kb remove N` avec le numéro que montre `\(prefix)kb list`, ou répondez `\(prefix)kb remove` au fichier."
                    ),
                    to: message)
                return
            }
            guard let found = documents.first(where: { $0.fileEventID == fileEvent }) else {
                reply(
                    language.pick(
                        "That message is not a document of this territory's knowledge base: `\(prefix)kb list` shows them.",
                        "Ce message n'est pas un document de la base de connaissances de ce territoire : `\(prefix)kb list` les montre."),
                    to: message)
                return
            }
            target = found
        } else if let number = Int(argument) {
            guard number >= 1, number <= documents.count else {
                reply(
                    documents.isEmpty
                        ? language.pick(
                            "No document has been added in \(Markdown.escape(territory.name)) yet.",
                            "Aucun document n'a encore été ajouté dans \(Markdown.escape(territory.name)).")
                        : language.pick(
                            "There is no document \(number): `\(prefix)kb list` numbers them from 1 to \(documents.count).",
                            "Il n'y a pas de document \(number) : `\(prefix)kb list` les numérote de 1 à \(documents.count)."),
                    to: message)
                return
            }
            target = documents[number - 1]
        } else {
            let wanted = TextMatching.fold(argument)
            let exact = documents.filter { TextMatching.fold($0.title) == wanted || TextMatching.fold($0.fileName) == wanted }
            let close = exact.isEmpty ? documents.filter { TextMatching.fold($0.title).contains(wanted) } : exact
            guard close.count == 1, let found = close.first else {
                let what = "*" + Markdown.escape(String(argument.prefix(80))) + "*"
                reply(
                    close.isEmpty
                        ? language.pick(
                            "No document of this territory is called \(what): `\(prefix)kb list` shows them.",
                            "Aucun document de ce territoire ne s'appelle \(what) : `\(prefix)kb list` les montre.")
                        : language.pick(
                            "Several documents match \(what): say `\(prefix)kb remove N` with the number `\(prefix)kb list` shows.",
                            "Plusieurs documents correspondent à \(what) : dites `\(prefix)kb remove N` avec le numéro que montre `\(prefix)kb list`."
                        ),
                    to: message)
                return
            }
            target = found
        }
        _ = try knowledge.removeRoomDocument(db, source: target.source)
        reply(
            language.pick(
                "I removed **\(Markdown.escape(target.title))** from the knowledge base of \(Markdown.escape(territory.name)): I no longer answer from it.",
                "J'ai retiré **\(Markdown.escape(target.title))** de la base de connaissances de \(Markdown.escape(territory.name)) : je n'y puise plus mes réponses."
            ), to: message)
    }

    // MARK: Wording

    static func quoted(_ fileName: String) -> String {
        "`" + String(fileName.prefix(120)).replacingOccurrences(of: "`", with: "'") + "`"
    }

    static let acceptedTypes = (
        en: "PDF, Word (DOCX), OpenDocument (ODT), Markdown and HTML files",
        fr: "des fichiers PDF, Word (DOCX), OpenDocument (ODT), Markdown et HTML"
    )

    static func text(_ refusal: KnowledgeAddRefusal, _ l: Language, prefix: String) -> String {
        switch refusal {
        case .noKnowledgeBase:
            return l.pick("No knowledge base is loaded here.", "Aucune base de connaissances n'est chargée ici.")
        case .notFacilitator:
            return l.pick(
                "Only a facilitator can add documents to the knowledge base.",
                "Seul·e un·e facilitateur·rice peut ajouter des documents à la base de connaissances.")
        case .noTerritory:
            return l.pick(
                "This room is not bound to a territory yet, and a document added here must belong to one. A facilitator binds it with `\(prefix)territory set NAME`.",
                "Ce salon n'est encore lié à aucun territoire, et un document ajouté ici doit appartenir à un territoire. Un·e facilitateur·rice le lie avec `\(prefix)territory set NOM`."
            )
        case .noFile:
            return l.pick(
                "No file has been shared in this room lately. Share one (\(acceptedTypes.en)), then reply `\(prefix)kb add` to it.",
                "Aucun fichier n'a été partagé dans ce salon récemment. Partagez-en un (\(acceptedTypes.fr)), puis répondez-y `\(prefix)kb add`."
            )
        case .notAFile:
            return l.pick(
                "The message you replied to is not a file I know of. Reply `\(prefix)kb add` to a file shared in this room.",
                "Le message auquel vous répondez n'est pas un fichier que je connais. Répondez `\(prefix)kb add` à un fichier partagé dans ce salon."
            )
        case .tooLarge(let name, let size, let limit):
            return l.pick(
                "\(quoted(name)) is too large (\(Engine.byteCount(size, l))): I add files of at most \(Engine.byteCount(limit, l)).",
                "\(quoted(name)) est trop gros (\(Engine.byteCount(size, l))) : j'ajoute des fichiers de \(Engine.byteCount(limit, l)) au plus."
            )
        case .notAccepted(let name, let type):
            return l.pick(
                "I cannot add \(quoted(name)) (\(Markdown.escape(type))) to the knowledge base: I read \(acceptedTypes.en).",
                "Je ne peux pas ajouter \(quoted(name)) (\(Markdown.escape(type))) à la base de connaissances : je lis \(acceptedTypes.fr)."
            )
        }
    }

    static func text(_ error: FileFetchError, name: String, _ l: Language, prefix: String) -> String {
        switch error {
        case .tooLarge(let size?, let limit):
            return l.pick(
                "\(name) is too large (\(Engine.byteCount(size, l))): I add files of at most \(Engine.byteCount(limit, l)).",
                "\(name) est trop gros (\(Engine.byteCount(size, l))) : j'ajoute des fichiers de \(Engine.byteCount(limit, l)) au plus.")
        case .tooLarge(nil, let limit):
            return l.pick(
                "\(name) is too large: I add files of at most \(Engine.byteCount(limit, l)).",
                "\(name) est trop gros : j'ajoute des fichiers de \(Engine.byteCount(limit, l)) au plus.")
        case .notFound:
            return l.pick(
                "I could not download \(name): the server no longer has it. Share it again, then reply `\(prefix)kb add` to the new one.",
                "Je n'ai pas pu télécharger \(name) : le serveur ne l'a plus. Partagez-le à nouveau, puis répondez `\(prefix)kb add` au nouveau."
            )
        case .undecryptable:
            return l.pick(
                "I could not decrypt \(name): its key or its content does not match. Share it again, please.",
                "Je n'ai pas pu déchiffrer \(name) : sa clé ou son contenu ne correspond pas. Partagez-le à nouveau, s'il vous plaît.")
        case .unavailable(let reason):
            return l.pick(
                "I could not download \(name) (\(Markdown.escape(String(reason.prefix(200))))). Nothing was added; try again in a moment.",
                "Je n'ai pas pu télécharger \(name) (\(Markdown.escape(String(reason.prefix(200))))). Rien n'a été ajouté ; réessayez dans un moment."
            )
        case .unsupported:
            return l.pick(
                "I cannot download files through this connection, so I cannot add \(name).",
                "Je ne peux pas télécharger de fichiers par cette connexion : je ne peux donc pas ajouter \(name).")
        }
    }

    static func text(_ problem: UploadProblem, name: String, _ l: Language) -> String {
        switch problem {
        case .unsupported(let kind):
            let what: (String, String) =
                switch kind {
                case .image: ("an image", "une image")
                case .archive:
                    ("an archive that is not a Word or OpenDocument text", "une archive qui n'est pas un texte Word ou OpenDocument")
                case .oldOffice: ("an old-format office file (.doc, .xls)", "un fichier bureautique d'ancien format (.doc, .xls)")
                case .binary: ("binary data", "des données binaires")
                case .notUTF8: ("text that is not in UTF-8", "du texte qui n'est pas en UTF-8")
                }
            return l.pick(
                "\(name) is \(what.0), which I cannot add to the knowledge base: I read \(acceptedTypes.en).",
                "\(name) est \(what.1), que je ne peux pas ajouter à la base de connaissances : je lis \(acceptedTypes.fr).")
        case .encrypted:
            return l.pick(
                "\(name) is protected by a password: share an unprotected copy and I will add it.",
                "\(name) est protégé par un mot de passe : partagez une copie non protégée et je l'ajouterai.")
        case .imageOnly:
            return l.pick(
                "\(name) has no text I can read (scanned pages?): run it through text recognition (OCR), then share it again.",
                "\(name) ne contient pas de texte que je puisse lire (des pages scannées ?) : passez-le en reconnaissance de texte (OCR), puis partagez-le à nouveau."
            )
        case .damaged:
            return l.pick(
                "\(name) is damaged: I cannot read it. Nothing was added.",
                "\(name) est endommagé : je ne peux pas le lire. Rien n'a été ajouté.")
        case .noText:
            return l.pick("\(name) has no text to add.", "\(name) ne contient aucun texte à ajouter.")
        case .toolMissing:
            return l.pick(
                "I cannot read \(name) on this server: the program that reads it is missing (poppler-utils). Tell the server's administrator.",
                "Je ne peux pas lire \(name) sur ce serveur : le programme qui le lit manque (poppler-utils). Prévenez l'administrateur·rice du serveur."
            )
        }
    }
}
