import FabriqueJSON
import Foundation

/// The end-to-end encryption endpoints: keys uploaded, queried and claimed, to-device messages sent.
extension MatrixClient {
    /// `POST /keys/upload`: returns the server's one-time key counts by algorithm.
    func uploadKeys(_ body: JSON, policy: RetryPolicy = .delivery) async throws -> [String: Int] {
        let json = try await call("POST", ["keys", "upload"], body: body, policy: policy)
        var counts: [String: Int] = [:]
        for (algorithm, count) in json["one_time_key_counts"]?.object ?? [:] { counts[algorithm] = count.int }
        return counts
    }

    /// `POST /keys/query` for every device of `users`.
    func queryKeys(users: [String], policy: RetryPolicy = .delivery) async throws -> JSON {
        let body: JSON = ["device_keys": .object(Dictionary(uniqueKeysWithValues: users.map { ($0, JSON.array([])) }))]
        return try await call("POST", ["keys", "query"], body: body, policy: policy)
    }

    /// `GET /keys/changes`: the users whose devices changed between two sync tokens (`changed`), and those
    /// who no longer share an encrypted room with the bot (`left`).
    func keyChanges(from: String, to: String, policy: RetryPolicy = .delivery) async throws -> JSON {
        try await call("GET", ["keys", "changes"], query: [("from", from), ("to", to)], policy: policy)
    }

    /// `POST /keys/claim`: one `signed_curve25519` one-time key per device.
    func claimKeys(devices: [(user: String, device: String)], policy: RetryPolicy = .delivery) async throws -> JSON {
        var wanted: [String: [String: JSON]] = [:]
        for (user, device) in devices { wanted[user, default: [:]][device] = "signed_curve25519" }
        return try await call(
            "POST", ["keys", "claim"], body: ["one_time_keys": .object(wanted.mapValues { .object($0) })], policy: policy)
    }

    /// `PUT /sendToDevice/{eventType}/{txnId}`: `messages` is user → device → content. Idempotent per txn id.
    func sendToDevice(type: String, txnID: String, messages: JSON, policy: RetryPolicy = .delivery) async throws {
        try await call("PUT", ["sendToDevice", type, txnID], body: ["messages": messages], policy: policy)
    }

    /// `POST /keys/device_signing/upload`. A first upload needs no extra authentication (Matrix 1.11);
    /// replacing keys asks for the password again (`auth`, user-interactive authentication in one step).
    func uploadCrossSigningKeys(_ body: JSON, auth: JSON? = nil, policy: RetryPolicy = .delivery) async throws {
        var body = body.object ?? [:]
        if let auth { body["auth"] = auth }
        try await call("POST", ["keys", "device_signing", "upload"], body: .object(body), policy: policy)
    }

    /// `POST /keys/signatures/upload`: `signed` is user → key or device id → the signed object. Returns the
    /// failures the server lists (empty when all signatures were taken).
    func uploadSignatures(_ signed: JSON, policy: RetryPolicy = .delivery) async throws -> JSON {
        try await call("POST", ["keys", "signatures", "upload"], body: signed, policy: policy)["failures"] ?? [:]
    }
}
