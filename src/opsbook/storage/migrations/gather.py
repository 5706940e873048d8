"""Every domain's tables, for migrations and autogenerate. Add a domain's tables module here."""

from opsbook.accounts import tables as _accounts  # noqa: F401
from opsbook.alerts import tables as _alerts  # noqa: F401
from opsbook.backups import tables as _backups  # noqa: F401
from opsbook.checks import tables as _checks  # noqa: F401
from opsbook.cluster import tables as _cluster  # noqa: F401
from opsbook.execution import tables as _execution  # noqa: F401
from opsbook.inbox import tables as _inbox  # noqa: F401
from opsbook.incidents import tables as _incidents  # noqa: F401
from opsbook.journal import tables as _journal  # noqa: F401
from opsbook.metrics import tables as _metrics  # noqa: F401
from opsbook.notify import tables as _notify  # noqa: F401
from opsbook.scheduler import tables as _scheduler  # noqa: F401
from opsbook.storage import coordination as _coordination  # noqa: F401
from opsbook.storage.base import Base

metadata = Base.metadata
