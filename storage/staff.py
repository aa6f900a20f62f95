"""Compatibility names for the staff side of the reports aggregate (storage/reports.py).

`StaffStore` is `ReportStore` and `StaffReport` is the one report view `ReportInfo`. Kept while
issue 12 lands so code other helpers are editing keeps importing; new code imports
storage.reports.
"""

from storage.reports import (
    ActionInfo,
    CardInfo,
    PatientOverview,
    ReportInfo,
    ReportStore,
    Transition,
    queue_order,
)

StaffStore = ReportStore
StaffReport = ReportInfo

__all__ = ["ActionInfo", "CardInfo", "PatientOverview", "StaffReport", "StaffStore",
           "Transition", "queue_order"]
