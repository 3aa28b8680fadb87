import Foundation

/// How the engine behaves, whatever the transport.
public struct EngineConfiguration: Sendable {
    /// What starts a command (`!help`).
    public var commandPrefix: String
    /// Names people use to address the bot ("fabrique", its display name): stripped from the start of messages.
    public var botNames: [String]
    /// Language when neither the person nor the room chose one.
    public var defaultLanguage: Language
    /// After this long without an answer, an active session is paused with a gentle message.
    public var idleTimeout: TimeInterval
    /// The territory of rooms that have none set (the terminal's `--territory`).
    public var defaultTerritory: String?
    /// Knowledge-base results per `!ask` / `!more` message.
    public var answersPerPage: Int
    /// How long the marks of delivered replies may wait for the next message's commit before a commit of
    /// their own (see ``DeliveryLog``): an idle bot's database says which replies went out within this delay.
    public var deliveryMarkDelay: Duration = .milliseconds(250)
    /// Who may give a new territory name to a room (`!territory set`), besides joining one with a code:
    /// these user ids, and facilitators whose account is on the bot's own server unless
    /// ``localFacilitatorsCreateTerritories`` is off.
    public var territoryCreators: Set<String> = []
    public var localFacilitatorsCreateTerritories = true
    /// Messages one person may send at once (all rooms together) before the bot stops reading them; then
    /// one more every ``personRefill`` seconds. Zero (the default, and the terminal's): no limit;
    /// `fabrique matrix` sets 10 and 6 s unless its config file says otherwise.
    public var personBurst = 0
    public var personRefill: TimeInterval = 6
    /// The largest file `!kb add` takes from a room, in bytes (20 MB by default).
    public var maximumSharedFileSize = 20_000_000

    public init(
        commandPrefix: String = "!", botNames: [String] = ["fabrique"], defaultLanguage: Language = .en,
        idleTimeout: TimeInterval = 7 * 24 * 3600, defaultTerritory: String? = nil, answersPerPage: Int = 1
    ) {
        self.commandPrefix = commandPrefix
        self.botNames = botNames
        self.defaultLanguage = defaultLanguage
        self.idleTimeout = idleTimeout
        self.defaultTerritory = defaultTerritory
        self.answersPerPage = answersPerPage
    }
}
