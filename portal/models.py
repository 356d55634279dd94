"""Every model, imported in one place so that Alembic and ``create_all`` see the whole schema."""

from .audit.models import AuditEvent  # noqa: F401
from .auth.models import Invitation, SignInSession, SignInThrottle, User  # noqa: F401
from .auth.passwords import PasswordHistory, SecurityPolicy  # noqa: F401
from .auth.twofactor import RecoveryCode, TwoFactor  # noqa: F401
from .catalog.models import EquipmentModel  # noqa: F401
from .complaints.models import Complaint, ComplaintAttachment, ComplaintCounter, ComplaintEvent  # noqa: F401
from .contracts.models import Contract  # noqa: F401
from .documents.models import Document, DocumentDownload, DocumentVersion  # noqa: F401
from .equipment.models import Equipment, WarrantyExtension  # noqa: F401
from .equipment.tally import ClientTally, SiteTally  # noqa: F401
from .inspections.models import CalendarFeed, InspectionPlan, ServiceLog, Visit, VisitAttachment, VisitUnit  # noqa: F401
from .notify.models import Delivery, Notification, Preference, Robot  # noqa: F401
from .orgs.models import Client, Site, TeamMember, Vendor  # noqa: F401
from .renewals.models import QuoteCounter, QuoteEvent, QuoteLine, RenewalCoverage, RenewalQuote, SparePart  # noqa: F401
from .reports.models import IssuedCounter, IssuedDocument  # noqa: F401
from .sla.models import CalendarDay, CalendarYear, SlaPolicy, SlaTarget  # noqa: F401
from .steps import Submission  # noqa: F401
from .surveys.models import Survey, SurveyThrottle  # noqa: F401
from .tickets.models import ReplacedPart, SpareLoan, Ticket, TicketCounter, TicketEvent, TicketPhoto  # noqa: F401
