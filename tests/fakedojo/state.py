"""In-memory DefectDojo: the objects the double serves, seeding helpers and permissions.

One `FakeDojoState` holds users, product types, products, engagements, tests, findings,
endpoints and the per-finding endpoint statuses, with ids handed out per table as a
database would. The same state serves both API versions; only the rendering differs.

Endpoints: in 2.58 mode (legacy model) an `Endpoint` row belongs to one product; in 3.2
mode (Locations) each row is a product↔location link and `location_id` names the location
shared by every product that has the same URL.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from tests.fakedojo.faults import CallRecord, Faults
from tests.fakedojo.models import (
    Endpoint,
    EndpointStatus,
    Engagement,
    Finding,
    Note,
    Product,
    ProductType,
    Test,
    User,
    now,
)

__all__ = [
    "Endpoint",
    "EndpointStatus",
    "Engagement",
    "FakeDojoState",
    "Finding",
    "Note",
    "Product",
    "ProductType",
    "Test",
    "User",
    "now",
]

ROLE_API_IMPORTER, ROLE_WRITER, ROLE_MAINTAINER, ROLE_OWNER, ROLE_READER = 1, 2, 3, 4, 5
IMPORT_ROLES = frozenset({ROLE_API_IMPORTER, ROLE_WRITER, ROLE_MAINTAINER, ROLE_OWNER})
ADD_PRODUCT_ROLES = frozenset({ROLE_MAINTAINER, ROLE_OWNER})


class FakeDojoState:
    """Everything the double knows; tests seed it directly and assert on it."""

    def __init__(self) -> None:
        self.users: dict[int, User] = {}
        self.product_types: dict[int, ProductType] = {}
        self.products: dict[int, Product] = {}
        self.engagements: dict[int, Engagement] = {}
        self.tests: dict[int, Test] = {}
        self.findings: dict[int, Finding] = {}
        self.endpoints: dict[int, Endpoint] = {}
        self.statuses: dict[int, EndpointStatus] = {}
        self.locations: dict[tuple[object, ...], int] = {}
        self._endpoint_by_key: dict[tuple[object, ...], int] = {}
        self._endpoints_by_location: dict[int, list[int]] = {}
        self._statuses_by_finding: dict[int, list[int]] = {}
        self._statuses_by_endpoint: dict[int, list[int]] = {}
        self.faults = Faults()
        self._ids: dict[str, int] = {}
        # DefectDojo's fixtures install this product type (id 1) with no timestamps.
        self.product_types[1] = ProductType(
            id=self._next("product_type"),
            name="Research and Development",
            critical_product=True,
            created=None,
            updated=None,
        )

    def _next(self, table: str) -> int:
        self._ids[table] = self._ids.get(table, 0) + 1
        return self._ids[table]

    def next_id(self, table: str) -> int:
        """The next primary key of a table (used by the importer)."""
        return self._next(table)

    # ---- seeding -----------------------------------------------------------------------
    def add_user(
        self,
        username: str,
        *,
        password: str = "password",  # noqa: S107 - a test double's seed default
        token: str | None = None,
        is_superuser: bool = False,
        is_staff: bool = False,
        global_role: int | None = None,
        first_name: str = "",
        last_name: str = "",
        email: str = "",
    ) -> User:
        user = User(
            id=self._next("user"),
            username=username,
            password=password,
            token=token or secrets.token_hex(20),
            is_superuser=is_superuser,
            is_staff=is_staff,
            global_role=global_role,
            first_name=first_name,
            last_name=last_name,
            email=email,
            has_contact_info=is_superuser,
        )
        self.users[user.id] = user
        return user

    def add_product_type(
        self,
        name: str,
        *,
        members: Iterable[User | int] = (),
        role: int = ROLE_OWNER,
        description: str | None = None,
    ) -> ProductType:
        product_type = ProductType(
            id=self._next("product_type"),
            name=name,
            description=description,
            members={_uid(m): role for m in members},
        )
        self.product_types[product_type.id] = product_type
        return product_type

    def add_product(
        self,
        name: str,
        *,
        prod_type: ProductType | int = 1,
        members: Iterable[User | int] = (),
        role: int = ROLE_OWNER,
        description: str = "",
    ) -> Product:
        type_id = prod_type if isinstance(prod_type, int) else prod_type.id
        if type_id not in self.product_types:
            raise KeyError(f"no product type {type_id}")
        product = Product(
            id=self._next("product"),
            name=name,
            description=description or name,
            prod_type_id=type_id,
            members={_uid(m): role for m in members},
        )
        self.products[product.id] = product
        return product

    def add_engagement(
        self,
        product_id: int,
        name: str | None = "Smart Upload",
        *,
        target_start: str | None = None,
        target_end: str | None = None,
    ) -> Engagement:
        today = now().date()
        engagement = Engagement(
            id=self._next("engagement"),
            product_id=product_id,
            name=name,
            target_start=target_start or today.isoformat(),
            target_end=target_end or today.replace(year=today.year + 1).isoformat(),
        )
        self.engagements[engagement.id] = engagement
        return engagement

    def add_test(
        self, engagement_id: int, scan_type: str, *, test_type_id: int, title: str | None = None
    ) -> Test:
        test = Test(
            id=self._next("test"),
            engagement_id=engagement_id,
            scan_type=scan_type,
            test_type_id=test_type_id,
            title=title,
        )
        self.tests[test.id] = test
        return test

    def add_endpoint(
        self,
        product_id: int,
        host: str,
        port: int | None = None,
        protocol: str | None = None,
        path: str | None = None,
    ) -> Endpoint:
        """A product↔host row as an import (3.2) or `POST /endpoints/` (2.58) leaves it."""
        return self.get_or_create_endpoint(
            product_id,
            Endpoint(
                id=0, product_id=product_id, host=host, protocol=protocol, port=port, path=path
            ),
        )

    def get_or_create_endpoint(self, product_id: int, candidate: Endpoint) -> Endpoint:
        """The product's row for this URL, created (with its location) if missing."""
        key = (product_id, *candidate.key())
        if (existing := self._endpoint_by_key.get(key)) is not None:
            return self.endpoints[existing]
        location_id = self.locations.setdefault(candidate.key(), len(self.locations) + 1)
        candidate.id = self._next("endpoint")
        candidate.product_id = product_id
        candidate.location_id = location_id
        self.endpoints[candidate.id] = candidate
        self._endpoint_by_key[key] = candidate.id
        self._endpoints_by_location.setdefault(location_id, []).append(candidate.id)
        return candidate

    def add_status(self, finding_id: int, endpoint_id: int) -> EndpointStatus:
        """Link a finding to an endpoint (active), as saving a finding's endpoints does."""
        status = EndpointStatus(self._next("endpoint_status"), finding_id, endpoint_id)
        self.statuses[status.id] = status
        self._statuses_by_finding.setdefault(finding_id, []).append(status.id)
        self._statuses_by_endpoint.setdefault(endpoint_id, []).append(status.id)
        return status

    # ---- lookups -----------------------------------------------------------------------
    def user_by_token(self, token: str) -> User | None:
        return next((u for u in self.users.values() if u.token == token), None)

    def product_of_test(self, test: Test) -> Product:
        return self.products[self.engagements[test.engagement_id].product_id]

    def product_of_finding(self, finding: Finding) -> Product:
        return self.product_of_test(self.tests[finding.test_id])

    def statuses_of(self, finding_id: int) -> list[EndpointStatus]:
        return [self.statuses[i] for i in self._statuses_by_finding.get(finding_id, [])]

    def statuses_on(self, endpoint_id: int) -> list[EndpointStatus]:
        return [self.statuses[i] for i in self._statuses_by_endpoint.get(endpoint_id, [])]

    def endpoints_at(self, location_id: int) -> list[Endpoint]:
        """Every product's row for one location (3.2 link rows sharing a location)."""
        return [self.endpoints[i] for i in self._endpoints_by_location.get(location_id, [])]

    @property
    def calls(self) -> list[CallRecord]:
        """The call log: (method, path, status) of every request the app answered."""
        return self.faults.calls

    # ---- permissions (open-source DefectDojo) ------------------------------------------
    def product_role(self, user: User, product: Product, version: str) -> int | None:
        """The user's effective role on a product; None when it may not even see it.

        3.2: superuser, staff, or any membership of the product or its type gives all
        rights. 2.58: superuser, or the highest of global, product and product type roles.
        """
        if user.is_superuser or (version == "3.2" and user.is_staff):
            return ROLE_OWNER
        roles = [
            r
            for r in (
                user.global_role,
                product.members.get(user.id),
                self.product_types[product.prod_type_id].members.get(user.id),
            )
            if r is not None
        ]
        if not roles:
            return None
        if version == "3.2":
            return ROLE_OWNER
        return min(roles, key=_role_strength)

    def can_view(self, user: User, product: Product, version: str) -> bool:
        return self.product_role(user, product, version) is not None

    def can_import(self, user: User, product: Product, version: str) -> bool:
        return self.product_role(user, product, version) in IMPORT_ROLES

    def can_add_product(self, user: User, product_type: ProductType, version: str) -> bool:
        if user.is_superuser or (version == "3.2" and user.is_staff):
            return True
        role = product_type.members.get(user.id, user.global_role)
        return role is not None and (version == "3.2" or role in ADD_PRODUCT_ROLES)

    def can_view_product_type(self, user: User, product_type: ProductType, version: str) -> bool:
        if user.is_superuser or (version == "3.2" and user.is_staff) or user.global_role:
            return True
        if user.id in product_type.members:
            return True
        return any(
            p.prod_type_id == product_type.id and self.can_view(user, p, version)
            for p in self.products.values()
        )

    def can_add_product_type(self, user: User, version: str) -> bool:
        if user.is_superuser or (version == "3.2" and user.is_staff):
            return True
        return version == "2.58" and user.global_role in ADD_PRODUCT_ROLES


def _uid(member: User | int) -> int:
    return member if isinstance(member, int) else member.id


def _role_strength(role: int) -> int:
    """Owner > Maintainer > Writer > API Importer > Reader (lower sorts first)."""
    return {ROLE_OWNER: 0, ROLE_MAINTAINER: 1, ROLE_WRITER: 2, ROLE_API_IMPORTER: 3}.get(role, 4)
