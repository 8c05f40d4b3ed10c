"""LabelEditor: automatic versioned saves, canvas undo reaching the disk, bulk actions, stale versions."""

import numpy as np

from pgssl_core.catalog import Project
from pgssl_core.labeling import STALE_MESSAGE, LabelEditor


def strokes(shape, building=(), background=()):
    """An (H, W) 0/1/255 stroke mask with the given (row slice, col slice) regions painted."""
    out = np.full(shape, 255, np.uint8)
    for region in building:
        out[region] = 1
    for region in background:
        out[region] = 0
    return out


def first_tile(project: Project) -> str:
    return project.tiles()[0].id


def test_strokes_are_saved_and_canvas_undo_undoes_on_disk(small_project: Project) -> None:
    tile_id = first_tile(small_project)
    editor = LabelEditor.open(small_project, tile_id)
    shape = editor.base.shape
    assert editor.version == 0 and (editor.base == 255).all()

    stroke = strokes(shape, building=[(slice(0, 10), slice(0, 10))])
    outcome = editor.apply_strokes(small_project, stroke)
    assert (outcome.status, outcome.version) == ("saved", 1)
    mask, version = small_project.load_label(tile_id)
    assert version == 1 and (mask[:10, :10] == 1).all() and (mask[10:] == 255).all()

    # the same canvas content again (any rerun) saves nothing
    assert editor.apply_strokes(small_project, stroke).status == "unchanged"
    assert small_project.load_label(tile_id)[1] == 1

    # the canvas toolbar's undo empties the strokes: the label on disk goes back to the base
    assert editor.apply_strokes(small_project, strokes(shape)).status == "saved"
    mask, version = small_project.load_label(tile_id)
    assert version == 2 and (mask == 255).all()


def test_reopening_restores_and_new_strokes_merge_over_saved_label(small_project: Project) -> None:
    tile_id = first_tile(small_project)
    shape = small_project.load_label(tile_id)[0].shape
    LabelEditor.open(small_project, tile_id).apply_strokes(
        small_project, strokes(shape, building=[(slice(0, 10), slice(0, 10))]))
    reopened = LabelEditor.open(small_project, tile_id)  # e.g. a browser reload
    assert reopened.version == 1 and (reopened.base[:10, :10] == 1).all()
    reopened.apply_strokes(small_project, strokes(shape, background=[(slice(5, 20), slice(5, 20))]))
    mask, _version = small_project.load_label(tile_id)
    assert (mask[:5, :10] == 1).all() and (mask[5:20, 5:20] == 0).all() and mask[30, 30] == 255


def test_stale_version_reloads_and_never_overwrites(small_project: Project) -> None:
    tile_id = first_tile(small_project)
    mine = LabelEditor.open(small_project, tile_id)
    other = LabelEditor.open(small_project, tile_id)  # a second browser tab
    shape = mine.base.shape
    other.apply_strokes(small_project, strokes(shape, building=[(slice(30, 40), slice(0, 10))]))
    outcome = mine.apply_strokes(small_project, strokes(shape, background=[(slice(0, 5), slice(0, 5))]))
    assert outcome.status == "stale" and outcome.message == STALE_MESSAGE
    mask, version = small_project.load_label(tile_id)
    assert version == 1 and (mask[30:40, :10] == 1).all() and (mask[:5, :5] == 255).all()
    # the editor now shows the other tab's label on a fresh canvas and saves on top of it
    assert mine.version == 1 and (mine.base[30:40, :10] == 1).all()
    old_key = mine.canvas_key
    mine.reload(small_project)
    assert mine.canvas_key != old_key
    assert mine.apply_strokes(small_project, strokes(shape, background=[(slice(0, 5), slice(0, 5))])).status == "saved"
    mask, _version = small_project.load_label(tile_id)
    assert (mask[30:40, :10] == 1).all() and (mask[:5, :5] == 0).all()


def test_clear_and_undo_clear(small_project: Project) -> None:
    tile_id = first_tile(small_project)
    editor = LabelEditor.open(small_project, tile_id)
    painted = strokes(editor.base.shape, building=[(slice(0, 10), slice(0, 10))])
    editor.apply_strokes(small_project, painted)
    key_before = editor.canvas_key

    assert editor.clear(small_project).status == "saved"
    assert (small_project.load_label(tile_id)[0] == 255).all()
    assert editor.canvas_key != key_before and (editor.base == 255).all()  # fresh, empty canvas
    assert editor.undo is not None

    assert editor.undo_bulk(small_project).status == "saved"
    np.testing.assert_array_equal(small_project.load_label(tile_id)[0], painted)
    assert editor.undo is None and editor.undo_bulk(small_project).status == "unchanged"


def test_rest_is_background_sets_complete_flag(small_project: Project) -> None:
    tile_id = first_tile(small_project)
    editor = LabelEditor.open(small_project, tile_id)
    editor.apply_strokes(small_project, strokes(editor.base.shape, building=[(slice(0, 10), slice(0, 10))]))
    assert editor.set_complete(small_project, True).status == "saved"
    record = small_project.tile(tile_id)
    assert record.label_complete and editor.complete
    training = small_project.training_mask(tile_id)
    assert (training[:10, :10] == 1).all() and (training[10:] == 0).all()  # unpainted counts as background
    assert editor.set_complete(small_project, True).status == "unchanged"
    assert editor.set_complete(small_project, False).status == "saved"
    assert not small_project.tile(tile_id).label_complete


def test_rest_is_background_makes_the_tile_fully_labelled_and_tinted(small_project: Project) -> None:
    tile_id = first_tile(small_project)
    editor = LabelEditor.open(small_project, tile_id)
    shape = editor.base.shape
    editor.apply_strokes(small_project, strokes(shape, building=[(slice(0, 10), slice(0, 10))]))
    labelled, building = editor.fractions
    assert labelled == building == 100 / (shape[0] * shape[1])
    key = editor.canvas_key
    editor.set_complete(small_project, True)
    assert editor.fractions == (1.0, building)  # "this tile labelled" reads 100%
    # the canvas restarts on the saved label, whose unpainted pixels are now shown as background
    assert editor.canvas_key != key and (editor.base[:10, :10] == 1).all()
    assert (editor.base_shown[10:] == 0).all() and (editor.base_shown[:10, :10] == 1).all()
    editor.set_complete(small_project, False)
    assert editor.fractions == (labelled, building) and (editor.base_shown[10:] == 255).all()


def test_new_canvas_keeps_saved_strokes_when_the_next_canvas_paints_elsewhere(small_project: Project) -> None:
    tile_id = first_tile(small_project)
    editor = LabelEditor.open(small_project, tile_id)
    shape = editor.base.shape
    editor.apply_strokes(small_project, strokes(shape, building=[(slice(0, 5), slice(0, 5))]))
    editor.new_canvas()  # e.g. zoomed: a new, empty canvas over what is saved
    editor.apply_strokes(small_project, strokes(shape, background=[(slice(20, 25), slice(20, 25))]))
    mask = small_project.load_label(tile_id)[0]
    assert (mask[:5, :5] == 1).all() and (mask[20:25, 20:25] == 0).all()
