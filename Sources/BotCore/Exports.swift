@_exported import Dialogues
