"""Drive a real Glance with the client openapi-python-client generated from the self-contained API document.

    python use_generated_client.py URL OWNER_HEADERS_JSON MEMBER_HEADERS_JSON

Run with the generator's own interpreter (_build/openapi-python-client), the generated package
``glance_images_client`` on PYTHONPATH; tests/test_api_clients.py type-checks this file with it (mypy) and
runs it.  Every step goes through the generated functions and models, and checks that the answer is the typed
model the document promises (never a bare string or None); it prints what it saw as one JSON object.
"""
from __future__ import annotations

import json
import sys
import uuid

from glance_images_client import Client
from glance_images_client.api.images import create_image, delete_image, list_images, show_image, update_image
from glance_images_client.api.members import create_image_member, list_image_members, update_image_member
from glance_images_client.api.metadata_definition_namespaces import (
    create_metadef_namespace,
    delete_metadef_namespace,
    show_metadef_namespace,
)
from glance_images_client.api.tasks import list_tasks
from glance_images_client.models import (
    Image,
    ImageCreate,
    ImageList,
    Member,
    MemberCreate,
    MemberList,
    MemberUpdate,
    MetadefNamespace,
    PatchV21Item,
    PatchV21ItemOp,
    TaskList,
)
from glance_images_client.models.image_create_container_format_type_1 import ImageCreateContainerFormatType1
from glance_images_client.models.image_create_disk_format_type_1 import ImageCreateDiskFormatType1
from glance_images_client.models.image_create_visibility import ImageCreateVisibility
from glance_images_client.models.list_images_visibility import ListImagesVisibility
from glance_images_client.models.member_update_status import MemberUpdateStatus


def typed(value: object, model: type) -> None:
    if not isinstance(value, model):
        raise SystemExit(f"expected a {model.__name__}, got {type(value).__name__}: {value!r:.300}")


def main() -> None:
    url, owner_headers, member_headers = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
    owner = Client(base_url=url, headers=owner_headers, raise_on_unexpected_status=True)
    member = Client(base_url=url, headers=member_headers, raise_on_unexpected_status=True)
    seen: dict[str, object] = {}
    name = f"generated-client-{uuid.uuid4().hex[:8]}"

    body = ImageCreate(name=name, visibility=ImageCreateVisibility.SHARED,
                       container_format=ImageCreateContainerFormatType1.BARE,
                       disk_format=ImageCreateDiskFormatType1.RAW, tags=["generated"], min_ram=64)
    body.additional_properties["imgspec_client"] = "openapi-python-client"
    created = create_image.sync(client=owner, body=body)
    typed(created, Image)
    assert isinstance(created, Image)
    image_id = uuid.UUID(created.id)
    seen["created"] = {"status": str(created.status), "visibility": str(created.visibility),
                       "custom": created.additional_properties.get("imgspec_client")}

    shown = show_image.sync(image_id, client=owner)
    typed(shown, Image)
    assert isinstance(shown, Image)
    seen["shown"] = {"name": shown.name, "min_ram": shown.min_ram, "created_at": shown.created_at.isoformat()}

    patched = update_image.sync(image_id, client=owner, body=[
        PatchV21Item(op=PatchV21ItemOp.REPLACE, path="/min_ram", value=128),
        PatchV21Item(op=PatchV21ItemOp.ADD, path="/imgspec_patched", value="yes")])
    typed(patched, Image)
    assert isinstance(patched, Image)
    seen["patched"] = {"min_ram": patched.min_ram, "custom": patched.additional_properties.get("imgspec_patched")}

    listed = list_images.sync(client=owner, name=name, visibility=ListImagesVisibility.SHARED, limit=5)
    typed(listed, ImageList)
    assert isinstance(listed, ImageList)
    seen["listed"] = [i.id for i in listed.images]

    project = member_headers["X-Project-Id"]
    added = create_image_member.sync(image_id, client=owner, body=MemberCreate(member=project))
    typed(added, Member)
    assert isinstance(added, Member)
    accepted = update_image_member.sync(image_id, project, client=member,
                                        body=MemberUpdate(status=MemberUpdateStatus.ACCEPTED))
    typed(accepted, Member)
    assert isinstance(accepted, Member)
    members = list_image_members.sync(image_id, client=owner)
    typed(members, MemberList)
    assert isinstance(members, MemberList)
    seen["members"] = [(m.member_id, str(m.status)) for m in members.members]

    tasks = list_tasks.sync(client=owner)
    typed(tasks, TaskList)
    assert isinstance(tasks, TaskList)
    seen["tasks"] = len(tasks.tasks)

    namespace = f"IMGSPEC::Generated{uuid.uuid4().hex[:6]}"
    made = create_metadef_namespace.sync(client=owner, body=MetadefNamespace(namespace=namespace,
                                                                             display_name="Generated client"))
    typed(made, MetadefNamespace)
    got = show_metadef_namespace.sync(namespace, client=owner)
    typed(got, MetadefNamespace)
    assert isinstance(got, MetadefNamespace)
    seen["namespace"] = {"namespace": got.namespace, "display_name": got.display_name}
    seen["namespace_deleted"] = delete_metadef_namespace.sync_detailed(namespace, client=owner).status_code

    seen["deleted"] = delete_image.sync_detailed(image_id, client=owner).status_code
    seen["gone"] = show_image.sync_detailed(image_id, client=owner).status_code
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
