@_exported import Dialogues
@_exported import FabriqueJSON
