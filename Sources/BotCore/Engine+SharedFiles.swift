import Foundation
import GRDB
import KnowledgeBase

/// A file shared in a room, fetched from the adapter and read for the `!kb add` of one event, before that
/// event's transaction: the transaction then only writes what was read (or says why nothing was).
public struct FetchedFile: Sendable {
    /// The event that shared the file.
    let fileEventID: String
    let outcome: Outcome

    enum Outcome: Sendable {
        case read(PreparedUpload)
        case notFetched(FileFetchError)
        case unreadable(UploadProblem)
    }
}

extension Engine {
    /// Fetches and reads the file that `event` asks to add to the knowledge base (a facilitator's `!kb add`
    /// that will be accepted), outside any transaction; nil when it asks for none, or was handled already.
    /// Give the result to ``handle(_:cursor:fetched:)``, which commits the import with the reply; a fetch
    /// that fails is a reply that changes nothing.
    ///
    /// - Throws: ``StoreError`` when the database cannot be read.
    public func fetchFile(for event: IncomingEvent, from adapter: any ChatAdapter) async throws -> FetchedFile? {
        guard case .message(let message) = event, knowledge != nil else { return nil }
        let now = clock()
        let wanted: StoredSharedFile?
        do {
            wanted = try await store.writer.read { db -> StoredSharedFile? in
                if try Bool.fetchOne(db, sql: "SELECT 1 FROM processed_event WHERE event_id = ?", arguments: [event.eventID]) == true {
                    return nil
                }
                let turn = Turn(engine: self, db: db, now: now, causeID: event.eventID)
                guard case .fetch(let file)? = try turn.addDecision(forCommandIn: message) else { return nil }
                return file
            }
        } catch let error as DatabaseError {
            throw StoreError.cannotWrite(error)
        }
        guard let wanted else { return nil }
        let limit = configuration.maximumSharedFileSize
        let data: Data
        do throws(FileFetchError) {
            data = try await adapter.fetch(wanted.file, limit: limit)
        } catch {
            logger.info("shared file not fetched", metadata: ["event": "\(wanted.eventID)", "reason": "\(error)"])
            return FetchedFile(fileEventID: wanted.eventID, outcome: .notFetched(error))
        }
        guard data.count <= limit else {
            return FetchedFile(fileEventID: wanted.eventID, outcome: .notFetched(.tooLarge(size: data.count, limit: limit)))
        }
        do {
            let upload = try KnowledgeIndex.prepareUpload([UInt8](data), fileName: wanted.file.fileName)
            return FetchedFile(fileEventID: wanted.eventID, outcome: .read(upload))
        } catch {
            logger.info("shared file not readable", metadata: ["event": "\(wanted.eventID)", "reason": "\(error)"])
            return FetchedFile(fileEventID: wanted.eventID, outcome: .unreadable(error))
        }
    }
}
