"""butfor: but for a platform change, what would this account's reach,
engagement and income have been, and what is the difference worth?"""

from butfor.errors import ButforError, ButforWarning

__version__ = "0.1.0"

__all__ = ["ButforError", "ButforWarning", "__version__"]
