# The "Product reactions" proxy, moved here from the emotion app. Its content type is renamed
# in place, so the permission rows (and every user's and group's grant of them) keep their ids.

from django.db import migrations

OLD, NEW = 'emotion', 'insights'
MODEL = 'productreaction'


def _move(apps, schema_editor, source: str, target: str) -> None:
    ContentType = apps.get_model('contenttypes', 'ContentType')
    Permission = apps.get_model('auth', 'Permission')
    old = ContentType.objects.filter(app_label=source, model=MODEL).first()
    if old is None:  # a fresh database: post_migrate creates the type and its permissions
        return
    new = ContentType.objects.filter(app_label=target, model=MODEL).first()
    if new is None:
        old.app_label = target
        old.save(update_fields=['app_label'])
        return
    # Both exist (post_migrate ran in between): grant the target's permissions to whoever
    # held the source's, then drop the source type (its permissions go with it).
    for permission in Permission.objects.filter(content_type=old):
        twin = Permission.objects.filter(content_type=new, codename=permission.codename).first()
        if twin is None:
            permission.content_type = new
            permission.save(update_fields=['content_type'])
            continue
        twin.user_set.add(*permission.user_set.all())
        twin.group_set.add(*permission.group_set.all())
    old.delete()


def forwards(apps, schema_editor) -> None:
    _move(apps, schema_editor, OLD, NEW)


def backwards(apps, schema_editor) -> None:
    _move(apps, schema_editor, NEW, OLD)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('shop', '0001_initial'),
        ('emotion', '0003_observation_created_at_index'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('auth', '0012_alter_user_first_name_max_length'),
    ]

    operations = [
        migrations.CreateModel(
            name='ProductReaction',
            fields=[],
            options={
                'verbose_name': 'product reactions',
                'verbose_name_plural': 'product reactions',
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('shop.product',),
        ),
        migrations.RunPython(forwards, backwards),
    ]
