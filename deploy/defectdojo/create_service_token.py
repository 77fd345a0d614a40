"""Create or reuse DefectDojo's service user for Smart Upload and write its API token to a file.

Smart Upload reads DefectDojo's endpoints with one service token to build its routing index
(design sections 2a and 6); every write to DefectDojo uses the caller's own token. This
script is that token's only source in the compose stack, so nobody pastes a key by hand.
It runs once per `docker compose up`, inside DefectDojo's own django image, as
`python manage.py shell --command "$(cat create_service_token.py)"` after DefectDojo's
initializer has migrated the database. It is idempotent: the same user keeps the same token.

The user is a superuser because DefectDojo lists only the endpoints of products a user may
see, and only a superuser sees every product in both 2.x and 3.x; it has no password, so it
cannot log in to the UI. The token file is written atomically, owned by Smart Upload's uid
and readable by it alone.

Environment:
    SMART_UPLOAD_TOKEN_FILE      where to write the token (its directory must exist)
    SMART_UPLOAD_TOKEN_FILE_UID  owner of the file: the uid of Smart Upload's image
    SMART_UPLOAD_SERVICE_USER    DefectDojo user name (default ``smart-upload``)
"""

import os
from pathlib import Path

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

service_username = os.environ.get("SMART_UPLOAD_SERVICE_USER", "smart-upload")
token_path = Path(os.environ["SMART_UPLOAD_TOKEN_FILE"])
token_owner_uid = int(os.environ["SMART_UPLOAD_TOKEN_FILE_UID"])

service_user, created = get_user_model().objects.get_or_create(
    username=service_username,
    defaults={"first_name": "Smart Upload", "last_name": "service"},
)
if created:
    service_user.set_unusable_password()
service_user.is_active = True
service_user.is_superuser = True
service_user.is_staff = True
service_user.save()
token, _ = Token.objects.get_or_create(user=service_user)

partial_path = token_path.with_name(f".{token_path.name}.partial")
partial_path.unlink(missing_ok=True)
descriptor = os.open(partial_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
try:
    os.write(descriptor, token.key.encode("ascii"))
    os.fchown(descriptor, token_owner_uid, -1)
finally:
    os.close(descriptor)
partial_path.replace(token_path)
print(f"smart-upload: API token of DefectDojo user {service_username!r} written to {token_path}")
