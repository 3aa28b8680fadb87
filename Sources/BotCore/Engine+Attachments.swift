import Foundation
import GRDB

/// Why a file could not be sent: what the room is told instead.
public enum FileFailure: Sendable, Hashable {
    /// Bigger than the transport accepts (bytes; the limit when known).
    case tooLarge(size: Int, limit: Int?)
    /// The transport refused it for good.
    case refused(String)
    /// Every try failed (the server unreachable, or failing).
    case gaveUp(String)
}

extension Engine {
    /// A file could not be sent: in one transaction, records the file's message as done (it will not
    /// be tried again) and queues a notice in its room that says which file and why, in the room's
    /// language. Returns the notice, to deliver like any reply. Its id derives from the file's message,
    /// so a crash before this commit tries the file again, and a crash after it sends the notice.
    public func fileNotSent(_ message: OutgoingMessage, _ failure: FileFailure) throws -> [OutgoingMessage] {
        guard let file = message.attachment else { return [] }
        let now = clock()
        do {
            return try store.transaction { db -> [OutgoingMessage] in
                var turn = Turn(engine: self, db: db, now: now, causeID: message.id + "/unsent")
                let language = try turn.roomLanguage(message.roomID)
                turn.reply(
                    Self.notice(file, failure, language), to: nil, roomID: message.roomID, threadID: message.threadID)
                try db.execute(
                    sql: "UPDATE outbox SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL",
                    arguments: [now.timeIntervalSince1970, message.id])
                return try turn.commitOutbox()
            }
        } catch let error as DatabaseError {
            throw StoreError.cannotWrite(error)
        }
    }

    static func notice(_ file: Attachment, _ failure: FileFailure, _ l: Language) -> String {
        let name = "`" + file.fileName.replacingOccurrences(of: "`", with: "'") + "`"
        switch failure {
        case .tooLarge(let size, nil):
            return l.pick(
                "I could not post the file \(name) (\(byteCount(size, l))): this server does not take files that large. The server's administrator can raise its limit.",
                "Je n'ai pas pu poster le fichier \(name) (\(byteCount(size, l))) : ce serveur n'accepte pas de fichiers aussi gros. L'administrateur·rice du serveur peut relever sa limite."
            )
        case .tooLarge(let size, let limit?):
            return l.pick(
                "I could not post the file \(name) (\(byteCount(size, l))): this server takes files of at most \(byteCount(limit, l)). The server's administrator can raise that limit.",
                "Je n'ai pas pu poster le fichier \(name) (\(byteCount(size, l))) : ce serveur n'accepte que des fichiers de \(byteCount(limit, l)) au plus. L'administrateur·rice du serveur peut relever cette limite."
            )
        case .refused(let reason):
            return l.pick(
                "I could not post the file \(name): the server refused it (\(reason)). Ask me again later, or tell the server's administrator.",
                "Je n'ai pas pu poster le fichier \(name) : le serveur l'a refusé (\(reason)). Redemandez-le-moi plus tard, ou prévenez l'administrateur·rice du serveur."
            )
        case .gaveUp(let reason):
            return l.pick(
                "I could not post the file \(name) after several tries (\(reason)). Ask me for it again in a moment.",
                "Je n'ai pas pu poster le fichier \(name) malgré plusieurs essais (\(reason)). Redemandez-le-moi dans un moment.")
        }
    }

    /// `840 KB`, `2.5 MB` (`2,5 Mo` in French): 1 KB is 1,000 bytes, as servers state their limits.
    static func byteCount(_ bytes: Int, _ l: Language) -> String {
        let (value, unit): (Double, String) =
            bytes >= 1_000_000
            ? (Double(bytes) / 1_000_000, l.pick("MB", "Mo"))
            : bytes >= 1000 ? (Double(bytes) / 1000, l.pick("KB", "ko")) : (Double(bytes), l.pick("bytes", "octets"))
        var number = value >= 10 || value.rounded() == value ? String(Int(value.rounded())) : String(format: "%.1f", value)
        if l == .fr { number = number.replacingOccurrences(of: ".", with: ",") }
        return number + " " + unit
    }
}
