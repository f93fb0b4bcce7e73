"""coach: a private, fully local interview coach for AI cloud infrastructure engineering.

The public names below import nothing heavy; models load on first use inside their adapters.
"""

from coach.config import Config, load as load_config
from coach.errors import CoachError
from coach.types import Chunk, Hit, Lab, RoadmapQuestion, Section

__all__ = ["Config", "load_config", "CoachError", "Chunk", "Hit", "Lab", "RoadmapQuestion", "Section"]
