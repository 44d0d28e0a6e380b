"""Reads Parkline's open-data feeds with parkapi-sources (PyPI), a consumer nobody here wrote.

Usage: read_with_parkapi_sources.py TABLE.xml STATUS.xml PARKAPI.json TABLE-2.3.xml STATUS-2.3.xml
Prints what parkapi-sources made of them, as JSON: the static and realtime parking sites of the DATEX II
feeds and of the ParkAPI JSON, and every validation error it reported.
"""

import json
import sys
from enum import Enum

from parkapi_sources.converters.base_converter.datex2 import ParkingRecordStatusMixin, UrbanParkingSiteMixin
from parkapi_sources.converters.base_converter.push.parkapi_json_converter import ParkApiConverter
from parkapi_sources.models import SourceInfo, StaticParkingSiteInput
from parkapi_sources.util import XMLHelper

SOURCE = SourceInfo(uid='parkline', name='Parkline', has_realtime_data=True)


class ParklineDatex2(UrbanParkingSiteMixin, ParkingRecordStatusMixin):
    """parkapi-sources' own DATEX II mixins and validators (`UrbanParkingSite`, `ParkingRecordStatus`).

    The mixins find the records under DATEX II 2.3's envelope (`d2LogicalModel` / `payloadPublication` /
    `genericPublicationExtension`); in DATEX II 3 the publication is the root `d2:payload` itself, so only
    the path to the records is ours. The XML reading (with the mixins' own options) and the validation
    are parkapi-sources'.
    """

    source_info = SOURCE
    xml_helper = XMLHelper()

    def _transform_static_xml_to_static_input_dicts(self, xml_data):
        data = self.xml_helper.xml_to_dict(
            xml_data,
            conditional_remote_type_tags=[('parkingName', 'values'), ('values', 'value')],
            ensure_array_keys=[('parkingTable', 'parkingRecord'), ('parkingName', 'values')],
        )
        return data['payload']['parkingTable']['parkingRecord']

    def _transform_realtime_xml_to_realtime_input_dicts(self, xml_data):
        data = self.xml_helper.xml_to_dict(xml_data, ensure_array_keys=[('payload', 'parkingRecordStatus')])
        return data['payload']['parkingRecordStatus']


class ParklineDatex23(UrbanParkingSiteMixin, ParkingRecordStatusMixin):
    """parkapi-sources' DATEX II mixins exactly as shipped: DATEX II 2.3's envelope is the one they read."""

    source_info = SOURCE
    xml_helper = XMLHelper()


class ParklineParkApi(ParkApiConverter):
    source_info = SOURCE


def plain(value):
    """A validated input as JSON-ready data, without the fields it left empty."""
    out = {}
    for key, v in vars(value).items():
        if v is None or v == []:
            continue
        out[key] = v.value if isinstance(v, Enum) else v if isinstance(v, (int, bool, str)) else str(v)
    return out


def errors(found):
    return [e.message for e in found]


def main(table_path, status_path, parkapi_path, table23_path, status23_path):
    datex = ParklineDatex2()
    read = lambda path: XMLHelper.string_to_xml_etree(open(path, 'rb').read())
    static, static_errors = datex._handle_static_xml_data(read(table_path))
    realtime, realtime_errors = datex._handle_realtime_xml_data(read(status_path))
    datex23 = ParklineDatex23()
    static23, static23_errors = datex23._handle_static_xml_data(read(table23_path))
    realtime23, realtime23_errors = datex23._handle_realtime_xml_data(read(status23_path))
    parkapi, parkapi_errors = ParklineParkApi(None, None).handle_json(json.load(open(parkapi_path)))
    json.dump(
        {
            'datex2_static': [plain(s) for s in static],
            'datex2_realtime': [plain(s) for s in realtime],
            'datex23_static': [plain(s) for s in static23],
            'datex23_realtime': [plain(s) for s in realtime23],
            'parkapi_static': [plain(s) for s in parkapi if isinstance(s, StaticParkingSiteInput)],
            'parkapi_realtime': [plain(s) for s in parkapi if not isinstance(s, StaticParkingSiteInput)],
            'errors': errors(static_errors) + errors(realtime_errors) + errors(parkapi_errors)
            + errors(static23_errors) + errors(realtime23_errors),
        },
        sys.stdout,
        indent=1,
    )


if __name__ == '__main__':
    main(*sys.argv[1:6])
