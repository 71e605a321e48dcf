"""The appointments API, one module per area: `resources` (the schedule set-up), `policy`,
`availability`, `bookings`, `calendar` and `members` (attendance and recall); `common` holds the
permissions and clinic-time fields they share."""
