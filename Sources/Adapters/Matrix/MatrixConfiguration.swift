import Foundation

/// How to reach the homeserver and how the bot behaves there.
public struct MatrixConfiguration: Sendable {
    public var homeserver: URL
    /// `@bot:server`; required for a password login, otherwise learnt from `whoami`.
    public var userID: String?
    /// A token given by the operator (`FABRIQUE_MATRIX_TOKEN`); wins over a stored one.
    public var accessToken: AccessToken?
    /// For a password login when no token is given or stored.
    public var password: String?
    /// Encrypts the device's keys in the database (`FABRIQUE_MATRIX_PICKLE_KEY` or `pickle_key`). With it the
    /// bot reads and writes end-to-end encrypted rooms; without it, it tells them once that it cannot.
    public var pickleKey: String?
    public var policy: MatrixPolicy
    /// The engine's command prefix, to spot commands worth a typing notification.
    public var commandPrefix: String
    /// Commands whose answer takes a while: the bot shows it is typing until it answers.
    public var slowCommands: Set<String>
    /// How long a typing notice stands unless the answer ends it first (the homeserver's timeout for it).
    public var typingTimeout: Duration = .seconds(10)
    /// Allow seeding a question's numbered reactions (1️⃣ 2️⃣ …) where a room asked for them
    /// (`!reactions on`, off by default); false turns seeding off everywhere.
    public var offerReactions: Bool
    /// Long-poll duration of `/sync`, in milliseconds.
    public var syncTimeoutMS: Int
    /// Seconds before the client gives up on a request; a `/sync` waits its long poll plus half of this.
    public var requestTimeout: TimeInterval
    /// Name of the `since` cursor in the state store.
    public var cursorName: String
    /// Said once in an encrypted room.
    public var encryptionNotice: String
    /// Said (as the leave reason) to someone whose invite is declined.
    public var declineReason: String
    /// How long an encrypted message may wait for its room key before its sender is told the bot cannot read it.
    public var undecryptableGrace: TimeInterval = 120
    /// Said once per person and room, in reply to a message whose key never came: in both languages, since
    /// the bot could not read the person, nor so learn theirs.
    public var undecryptableNotice =
        "I could not read this message: it was encrypted with a key my device never received. Could you send it again?\n"
        + "Je n'ai pas pu lire ce message : il a été chiffré avec une clé que mon appareil n'a jamais reçue. Pouvez-vous le renvoyer ?"

    public init(
        homeserver: URL, userID: String? = nil, accessToken: AccessToken? = nil, password: String? = nil,
        policy: MatrixPolicy = MatrixPolicy(), commandPrefix: String = "!", slowCommands: Set<String> = ["ask"],
        offerReactions: Bool = true, syncTimeoutMS: Int = 30_000, requestTimeout: TimeInterval = 30, cursorName: String = "matrix.since",
        encryptionNotice: String =
            "I cannot read end-to-end encrypted messages yet, so I will not see what is said here. Please talk to me in a room without encryption.",
        declineReason: String = "This bot only joins rooms when invited by people it serves."
    ) {
        self.homeserver = homeserver
        self.userID = userID
        self.accessToken = accessToken
        self.password = password
        self.policy = policy
        self.commandPrefix = commandPrefix
        self.slowCommands = slowCommands
        self.offerReactions = offerReactions
        self.syncTimeoutMS = syncTimeoutMS
        self.requestTimeout = requestTimeout
        self.cursorName = cursorName
        self.encryptionNotice = encryptionNotice
        self.declineReason = declineReason
    }
}

/// Why the adapter cannot go on, in words an operator can act on. Never contains the token.
public enum MatrixAdapterError: Error, Sendable, CustomStringConvertible {
    case unknownToken
    case noCredentials
    case loginFailed(String)
    case homeserver(MatrixError)

    public var description: String {
        switch self {
        case .unknownToken:
            "the homeserver refused the access token (M_UNKNOWN_TOKEN): it was revoked or belongs to another server; set a new FABRIQUE_MATRIX_TOKEN or log in with a password"
        case .noCredentials:
            "no Matrix credentials: set FABRIQUE_MATRIX_TOKEN, or give --user and a password (FABRIQUE_MATRIX_PASSWORD or the config file)"
        case .loginFailed(let reason): "password login failed: \(reason)"
        case .homeserver(let error): "\(error)"
        }
    }
}
