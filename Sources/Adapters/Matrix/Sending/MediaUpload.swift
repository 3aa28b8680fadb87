import BotCore
import Foundation

/// Where an uploaded file lives, as an event points to it.
///
/// The seam for encrypted rooms: a file for an encrypted room would be uploaded as ciphertext and
/// referred to by an `EncryptedFile` (`file` in the content, with its key and hashes) instead of a
/// plain `url`; that is one more case here and in ``fill(_:)``, nothing else changes.
enum MediaReference: Sendable, Hashable {
    /// An `mxc://` URI of bytes uploaded as they are.
    case plain(uri: String)
    /// Ciphertext uploaded for an encrypted room: the `EncryptedFile` object (its URI, key, IV and hash).
    case encrypted(file: JSON)

    /// Puts the reference in an `m.file` / `m.image` content.
    func fill(_ content: inout [String: JSON]) {
        switch self {
        case .plain(let uri): content["url"] = .string(uri)
        case .encrypted(let file): content["file"] = file
        }
    }
}

extension MatrixClient {
    /// `GET /_matrix/client/v1/media/config` (authenticated media; the older `/_matrix/media/v3/config`
    /// when the server does not know it): the largest upload the server accepts, in bytes, or nil when it
    /// states none.
    public func mediaUploadLimit(policy: RetryPolicy = .delivery) async throws -> Int? {
        let json: JSON
        do {
            json = try await call("GET", ["media", "config"], policy: policy, prefix: "/_matrix/client/v1")
        } catch let error as MatrixError where error.errcode == "M_UNRECOGNIZED" || error.status == 404 {
            json = try await call("GET", ["config"], policy: policy, prefix: "/_matrix/media/v3")
        }
        return json["m.upload.size"]?.number.map { Int($0) }
    }

    /// `POST /_matrix/media/v3/upload?filename=…`: the bytes as they are; returns the `mxc://` URI.
    public func upload(_ data: Data, contentType: String, fileName: String, policy: RetryPolicy = .delivery) async throws -> String {
        // An upload takes longer than a call: a minute per 10 MB on a slow link, on top of the usual wait.
        let timeout = requestTimeout + Double(data.count) / 170_000
        let json = try await call(
            "POST", ["upload"], query: [("filename", fileName)], raw: (data, contentType), timeout: timeout, policy: policy,
            prefix: "/_matrix/media/v3")
        guard let uri = json["content_uri"]?.string, uri.hasPrefix("mxc://") else {
            throw MatrixError.malformedResponse("upload without content_uri")
        }
        return uri
    }
}

extension MatrixError {
    /// The HTTP status, when the server answered.
    var status: Int? {
        if case .http(let status, _, _, _) = self { status } else { nil }
    }

    /// 413 or `M_TOO_LARGE`: the file is bigger than the server takes.
    var isTooLarge: Bool { status == 413 || errcode == "M_TOO_LARGE" }
}

/// The event content of a file message: `m.image` for an image (with its pixel size), else `m.file`;
/// `body` and `filename` are the file's name, `info` its type and size.
enum MediaContent {
    static func content(for message: OutgoingMessage, file: Attachment, at reference: MediaReference, roomKind: RoomKind) -> JSON {
        var info: [String: JSON] = ["mimetype": .string(file.mimeType), "size": .number(Double(file.data.count))]
        if file.isImage, let width = file.width, let height = file.height {
            info["w"] = .number(Double(width))
            info["h"] = .number(Double(height))
        }
        var content: [String: JSON] = [
            "msgtype": file.isImage ? "m.image" : "m.file",
            "body": .string(file.fileName),
            "filename": .string(file.fileName),
            "info": .object(info),
            "m.mentions": ["user_ids": .array(message.mentions.map(JSON.string))],
        ]
        reference.fill(&content)
        if let relation = MatrixAdapter.relation(for: message, roomKind: roomKind) { content["m.relates_to"] = relation }
        return .object(content)
    }
}

extension MatrixAdapter {
    /// Uploads `file` unless the server's stated limit rules it out. The limit is asked once per run.
    /// - Throws: ``DeliveryError/fileTooLarge(size:limit:)`` over the limit (stated, or learnt from a
    ///   413), else what ``deliveryError(_:)`` makes of the failure.
    /// - Parameter encrypted: the room is encrypted: the file goes up as `EncryptedFile` ciphertext.
    func upload(_ file: Attachment, encrypted: Bool = false) async throws -> MediaReference {
        if uploadLimit == nil { uploadLimit = .some(try? await client.mediaUploadLimit()) }
        let limit = uploadLimit ?? nil
        if let limit, file.data.count > limit { throw DeliveryError.fileTooLarge(size: file.data.count, limit: limit) }
        do {
            if encrypted {
                let sealed = try EncryptedAttachment.encrypt(file.data)
                let uri = try await client.upload(sealed.ciphertext, contentType: "application/octet-stream", fileName: file.fileName)
                return .encrypted(file: sealed.file(url: uri))
            }
            return .plain(uri: try await client.upload(file.data, contentType: file.mimeType, fileName: file.fileName))
        } catch let error as MatrixError where error.isTooLarge {
            // The server's limit is lower than it said (or it said none): a notice rather than retries.
            throw DeliveryError.fileTooLarge(size: file.data.count, limit: limit)
        } catch let error as MatrixError {
            throw Self.deliveryError(error)
        } catch is CancellationError {
            throw DeliveryError.transient("cancelled")
        }
    }
}
