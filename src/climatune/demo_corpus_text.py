"""Original text for the embedded demo corpus, written for climatune.

Facts are public knowledge; the prose is the project's own.
"""

from __future__ import annotations

DOCUMENTS: list[dict] = [
    {
        "id": "greenhouse_effect_radiative_forcing",
        "title": "The Greenhouse Effect and Radiative Forcing",
        "author": "Climatune Demo Editorial Group",
        "sections": [
            (
                "The planetary energy balance",
                [
                    (
                        "Earth's climate is governed by a balance between the energy it absorbs "
                        "from the Sun and the energy it returns to space. Averaged over the whole "
                        "globe and the full year, the top of the atmosphere receives about 340 "
                        "watts per square metre (W/m2) of incoming sunlight. Roughly 30 percent of "
                        "that flux is reflected straight back by clouds, aerosols, snow, ice and "
                        "bright land surfaces; this fraction is called the planetary albedo. The "
                        "remainder is absorbed by the atmosphere, the oceans and the land, where "
                        "it ultimately drives winds, currents, evaporation and photosynthesis."
                    ),
                    (
                        "To remain in equilibrium, the planet must shed an equal amount of energy "
                        "as infrared (longwave) radiation. A simple calculation shows that an "
                        "airless body absorbing this much sunlight would settle at an average "
                        "surface temperature of about –18 °C. The observed global mean is closer "
                        "to +15 °C. The difference of roughly 33 °C is the natural greenhouse "
                        "effect; without it, liquid water would be rare and most of the surface "
                        "would be permanently frozen."
                    ),
                    (
                        "Satellite instruments, such as those flown by the CERES programme, now "
                        "monitor the incoming and outgoing fluxes continuously. They show that "
                        "Earth currently absorbs slightly more energy than it emits, an imbalance "
                        "of somewhere near 1 W/m2 in recent years. Although small compared with "
                        "the total flow, this persistent surplus accumulates year after year, and "
                        "it is the fundamental reason the climate system is warming."
                    ),
                ],
            ),
            (
                "How greenhouse gases trap heat",
                [
                    (
                        "Nitrogen and oxygen, which together make up about 99 percent of dry air, "
                        "are almost transparent to infrared radiation. The greenhouse effect "
                        "depends instead on trace constituents whose molecules can vibrate and "
                        "rotate in ways that absorb and re-emit longwave energy. Water vapour is "
                        "the largest single contributor, followed by carbon dioxide (CO2), with "
                        "methane, nitrous oxide, ozone and several synthetic halocarbons adding "
                        "smaller shares."
                    ),
                    (
                        "When these gases absorb upwelling infrared radiation, they re-emit energy "
                        "in all directions, including back toward the surface. Adding more of a "
                        "greenhouse gas raises the effective altitude from which the planet "
                        "radiates to space. Because the troposphere gets colder with height, that "
                        "higher emission level is cooler and radiates less efficiently, so the "
                        "surface and lower atmosphere must warm until balance is restored. The "
                        "same mechanism explains why the upper stratosphere is cooling even as the "
                        "surface warms, a distinctive fingerprint of greenhouse-driven change "
                        "rather than of solar variability."
                    ),
                    (
                        "The concentration of CO2 has risen from about 280 parts per million (ppm) "
                        "before industrialisation to more than 410 ppm, and the annual average at "
                        "Mauna Loa passed 420 ppm in 2023. Methane has more than doubled over the "
                        "same period, to roughly 1,900 parts per billion, while nitrous oxide has "
                        "increased by about a fifth. Air bubbles trapped in Antarctic ice cores "
                        "show that present CO2 levels are higher than at any time in at least "
                        "800,000 years."
                    ),
                ],
            ),
            (
                "Measuring radiative forcing",
                [
                    (
                        "Scientists compare the influence of different climate drivers using "
                        "radiative forcing, defined as the change in net energy flux at the top of "
                        "the atmosphere caused by a perturbation and expressed in W/m2. A positive "
                        "forcing tends to warm the system, whereas a negative forcing tends to "
                        "cool it. Modern assessments prefer the effective radiative forcing (ERF), "
                        "which includes rapid adjustments of atmospheric temperature, water vapour "
                        "and clouds that happen before the surface has time to respond."
                    ),
                    (
                        "The forcing from CO2 grows approximately with the logarithm of its "
                        "concentration. As a consequence, each doubling adds a similar increment, "
                        "close to 3.7–3.9 W/m2, regardless of the starting level. The total "
                        "anthropogenic ERF in 2019 relative to 1750 has been estimated at about "
                        "2.7 W/m2, of which CO2 alone contributes around 2.2 W/m2 and methane "
                        "roughly 0.5 W/m2 (including its indirect chemical effects)."
                    ),
                    (
                        "Natural drivers are comparatively minor on multidecadal timescales. "
                        "Changes in solar output over the eleven-year sunspot cycle alter the "
                        "forcing by only about 0.1 W/m2, and there has been no long-term upward "
                        "trend in solar irradiance since the 1950s. Large volcanic eruptions can "
                        "impose a strong negative forcing for one to three years, as Mount "
                        "Pinatubo did after 1991, but their sulphate particles are washed out of "
                        "the stratosphere too quickly to offset sustained greenhouse warming."
                    ),
                ],
            ),
            (
                "Aerosols and other non-CO2 agents",
                [
                    (
                        "Not every human influence warms the planet. Sulphate, nitrate and organic "
                        "aerosols from fuel combustion and industrial activity scatter sunlight "
                        "and make clouds brighter and longer-lived, producing a net negative "
                        "forcing. The central estimate for total aerosol ERF is about –1.1 W/m2, "
                        "but the uncertainty range is wide, mainly because aerosol–cloud "
                        "interactions are difficult to observe and to represent in models."
                    ),
                    (
                        "This masking effect has important policy consequences. As countries clean "
                        "up air pollution, for example by removing sulphur from ship fuel or from "
                        "coal-plant exhaust, part of the hidden warming is unmasked. Black carbon "
                        "(soot) behaves differently: it absorbs sunlight and can darken snow and "
                        "ice, so it contributes a modest positive forcing. Land-use change, "
                        "chiefly the replacement of forests with brighter cropland, has a small "
                        "cooling effect through increased surface albedo."
                    ),
                    (
                        "Fluorinated gases, including the hydrofluorocarbons used in refrigeration "
                        "and air conditioning, are present at tiny concentrations but are "
                        "extraordinarily potent per molecule. Tropospheric ozone, formed from "
                        "precursors such as nitrogen oxides, carbon monoxide and methane, adds a "
                        "further positive forcing of roughly 0.4 W/m2. Because many of these "
                        "agents are short-lived, cutting their emissions can slow near-term "
                        "warming within a decade or two."
                    ),
                ],
            ),
            (
                "Feedbacks and the path to warming",
                [
                    (
                        "Radiative forcing sets the initial imbalance, but the eventual "
                        "temperature change depends on feedbacks. A warmer atmosphere holds about "
                        "7 percent more water vapour per degree Celsius, amplifying the original "
                        "perturbation. Retreating snow and sea ice expose darker surfaces that "
                        "absorb more sunlight, while changes in cloud height and extent are "
                        "thought, on balance, to amplify warming as well. The main stabilising "
                        "process is the Planck response: a warmer body simply emits more "
                        "radiation."
                    ),
                    (
                        "Combining forcing, feedbacks and the slow uptake of heat by the ocean "
                        "explains the observed rise in global surface temperature. The decade "
                        "2011–2020 was about 1.1 °C warmer than the 1850–1900 baseline, and "
                        "attribution studies conclude that essentially all of this warming is due "
                        "to human activity. Because a large fraction of emitted CO2 remains in the "
                        "atmosphere for centuries, the forcing from past emissions will persist "
                        "long after those emissions have ceased."
                    ),
                    (
                        "Understanding radiative forcing therefore provides a common accounting "
                        "framework. It allows the effects of long-lived gases, short-lived "
                        "pollutants and land-surface changes to be placed on a single scale, and "
                        "it underpins metrics such as the global warming potential that are used "
                        "in emissions inventories and international climate agreements."
                    ),
                ],
            ),
        ],
        "references": [
            (
                "IPCC (2021). Climate Change 2021: The Physical Science Basis. Contribution of "
                "Working Group I to the Sixth Assessment Report. Cambridge University Press."
            ),
            (
                "Manabe, S. and Wetherald, R. T. (1967). Thermal equilibrium of the atmosphere "
                "with a given distribution of relative humidity. Journal of the Atmospheric "
                "Sciences, 24(3)."
            ),
            (
                "Myhre, G., Highwood, E. J., Shine, K. P. and Stordal, F. (1998). New estimates of "
                "radiative forcing due to well mixed greenhouse gases. Geophysical Research "
                "Letters, 25(14)."
            ),
            (
                "Trenberth, K. E., Fasullo, J. T. and Kiehl, J. (2009). Earth's global energy "
                "budget. Bulletin of the American Meteorological Society, 90(3)."
            ),
            (
                "Forster, P. M. et al. (2023). Indicators of Global Climate Change 2022. Earth "
                "System Science Data, 15."
            ),
        ],
    },
    {
        "id": "ocean_heat_uptake_sea_level",
        "title": "Ocean Heat Uptake and Sea-Level Rise",
        "author": "Climatune Demo Editorial Group",
        "sections": [
            (
                "The ocean as the climate system's heat reservoir",
                [
                    (
                        "More than 90 percent of the extra energy trapped by greenhouse gases "
                        "since the 1970s has ended up in the ocean. Water has a very high heat "
                        "capacity, and the global ocean can store roughly 1,000 times as much heat "
                        "per degree of warming as the entire atmosphere. Only a small fraction of "
                        "the accumulated energy has gone into warming the air, melting ice and "
                        "heating the land surface."
                    ),
                    (
                        "This enormous thermal inertia moderates the pace of surface warming, but "
                        "it comes at a price. Heat absorbed by the ocean does not disappear; it "
                        "expands seawater, alters circulation and marine ecosystems, and will "
                        "continue to influence the climate for centuries. The upper 700 metres "
                        "have warmed most, yet measurable warming now extends below 2,000 metres "
                        "in many basins, particularly in the Southern Ocean and the North "
                        "Atlantic, where dense surface waters sink."
                    ),
                    (
                        "Heat enters the interior through several pathways. Wind-driven mixing "
                        "stirs the surface layer, subduction carries warmed water downward along "
                        "sloping density surfaces, and deep convection in a few high-latitude "
                        "regions transfers heat to the abyss. The efficiency of these processes "
                        "controls how quickly the surface climate approaches equilibrium after a "
                        "change in forcing."
                    ),
                ],
            ),
            (
                "Observing ocean warming",
                [
                    (
                        "Before the 2000s, subsurface temperature measurements came mainly from "
                        "ships, using instruments such as expendable bathythermographs whose "
                        "biases had to be painstakingly corrected. The Argo programme transformed "
                        "the situation. Since the mid-2000s, a fleet of nearly 4,000 autonomous "
                        "profiling floats has sampled temperature and salinity in the upper 2,000 "
                        "metres of the ice-free ocean, each float surfacing roughly every ten days "
                        "to transmit its data by satellite."
                    ),
                    (
                        "Combining these records, analysts estimate that the upper 2,000 metres of "
                        "the ocean gained more than 300 zettajoules of heat between the late 1950s "
                        "and the early 2020s (one zettajoule equals 10^21 joules). The rate of "
                        "uptake has increased over time; recent decades show roughly double the "
                        "rate seen between the 1960s and the 1980s. Ocean heat content is now "
                        "regarded as one of the most robust indicators of global warming, because "
                        "it is far less affected by year-to-year weather variability than surface "
                        "temperature."
                    ),
                    (
                        "Warming is not confined to the average. Marine heatwaves, periods of "
                        "unusually high sea-surface temperature lasting from days to months, have "
                        "roughly doubled in frequency since the early 1980s. Such events have "
                        "caused mass coral bleaching on the Great Barrier Reef, kelp-forest "
                        "die-offs and abrupt shifts in the distribution of commercially important "
                        "fish."
                    ),
                ],
            ),
            (
                "Contributions to sea-level rise",
                [
                    (
                        "Global mean sea level rose by about 20 centimetres between 1901 and 2018. "
                        "The rate has accelerated: tide gauges indicate an average of about 1.3 "
                        "millimetres per year early in the twentieth century, whereas satellite "
                        "altimetry since 1993 shows an average above 3 mm per year, and closer to "
                        "4 mm per year during the most recent decade."
                    ),
                    (
                        "Two broad processes explain this rise. Thermal expansion occurs because "
                        "seawater occupies more volume as it warms, and it accounted for roughly "
                        "half of the increase over recent decades. The other half comes from "
                        "additional mass entering the ocean, principally meltwater and ice "
                        "discharge from mountain glaciers and from the Greenland and Antarctic ice "
                        "sheets. Changes in land water storage, such as groundwater pumping partly "
                        "offset by reservoir impoundment, play a smaller and variable role."
                    ),
                    (
                        "Since about 2006 the combined contribution of land ice has overtaken "
                        "thermal expansion as the leading source. Satellite gravimetry from the "
                        "GRACE and GRACE-FO missions has made it possible to weigh the ice sheets "
                        "directly, confirming that Greenland alone has lost on the order of 250 "
                        "billion tonnes of ice per year in recent decades."
                    ),
                ],
            ),
            (
                "Regional patterns and coastal impacts",
                [
                    (
                        "Sea level does not rise uniformly. Ocean dynamics, winds and differences "
                        "in warming redistribute water, so that some coastlines experience rates "
                        "well above the global average. The gravitational pull of a shrinking ice "
                        "sheet also weakens, which causes sea level near the ice to fall while it "
                        "rises more than average far away. Vertical land motion matters too: "
                        "subsidence caused by groundwater extraction can double or triple the "
                        "relative rise in delta cities such as Jakarta, Bangkok and parts of the "
                        "Mississippi delta."
                    ),
                    (
                        "For most coastal communities, the first noticeable consequence is not "
                        "permanent inundation but more frequent flooding at high tide. A modest "
                        "rise of 10 to 20 cm can turn an event that once occurred every few "
                        "decades into an annual nuisance. Saltwater intrusion into aquifers, "
                        "erosion of sandy shores and the loss of wetlands that buffer storm surges "
                        "are additional pressures. Several hundred million people, roughly a tenth "
                        "of the world's population, live in low-elevation coastal zones less than "
                        "10 metres above sea level."
                    ),
                    (
                        "Rising seas also amplify the damage from tropical cyclones and "
                        "extratropical storms, since surge and waves ride on a higher baseline. "
                        "Small island developing states face particular exposure because much of "
                        "their infrastructure, freshwater supply and habitable land lies within a "
                        "few metres of the shoreline, and relocation options are limited."
                    ),
                ],
            ),
            (
                "Circulation, oxygen and marine life",
                [
                    (
                        "Warming of the upper ocean increases the density contrast between surface "
                        "and deeper layers. This stronger stratification hinders the vertical "
                        "mixing that brings nutrients up to sunlit waters and carries oxygen down, "
                        "so many regions are becoming less productive and less oxygenated. The "
                        "global ocean is estimated to have lost about 2 percent of its dissolved "
                        "oxygen since 1960, and oxygen-minimum zones in the tropical Pacific and "
                        "Indian oceans have expanded."
                    ),
                    (
                        "Large-scale circulation may change too. The Atlantic Meridional "
                        "Overturning Circulation (AMOC), which carries warm water northward near "
                        "the surface and returns cold water southward at depth, is projected to "
                        "weaken during this century. Continuous measurements across 26.5°N began "
                        "only in 2004, so distinguishing a long-term trend from natural "
                        "variability remains difficult, and an abrupt collapse, while judged "
                        "unlikely before 2100, cannot be excluded."
                    ),
                ],
            ),
            (
                "Committed rise and long-term outlook",
                [
                    (
                        "Because the deep ocean and the ice sheets respond slowly, sea level will "
                        "keep rising for centuries even if global temperatures are stabilised. "
                        "Projections for 2100 relative to 1995–2014 range from roughly 0.3 to 0.6 "
                        "metres under a low-emissions scenario to about 0.6 to 1.0 metres under a "
                        "very high-emissions scenario. Outcomes approaching 2 metres by 2100 "
                        "cannot be ruled out if poorly understood ice-sheet instabilities are "
                        "triggered."
                    ),
                    (
                        "Over multi-century to millennial horizons, the commitment becomes much "
                        "larger. Paleoclimate evidence indicates that during the last interglacial "
                        "period, about 125,000 years ago, when global temperatures were perhaps 1 "
                        "°C warmer than preindustrial, sea level stood several metres above "
                        "today's. This long memory means that decisions about emissions in the "
                        "coming decades will shape coastlines for many generations, and that "
                        "adaptation planning needs to consider plausible ranges rather than single "
                        "best estimates."
                    ),
                    (
                        "Monitoring will therefore remain essential. Continuous tide-gauge "
                        "networks, satellite altimetry missions such as Sentinel-6 Michael "
                        "Freilich, and sustained Argo deployments together provide the "
                        "observational backbone needed to detect acceleration early and to test "
                        "model projections against reality."
                    ),
                ],
            ),
        ],
        "references": [
            (
                "IPCC (2019). Special Report on the Ocean and Cryosphere in a Changing Climate. "
                "Cambridge University Press."
            ),
            (
                "IPCC (2021). Climate Change 2021: The Physical Science Basis. Cambridge "
                "University Press."
            ),
            (
                "Cheng, L. et al. (2017). Improved estimates of ocean heat content from 1960 to "
                "2015. Science Advances, 3(3)."
            ),
            "Frederikse, T. et al. (2020). The causes of sea-level rise since 1900. Nature, 584.",
            (
                "Roemmich, D. et al. (2019). On the future of Argo: a global, full-depth, "
                "multi-disciplinary array. Frontiers in Marine Science, 6."
            ),
            (
                "Oliver, E. C. J. et al. (2018). Longer and more frequent marine heatwaves over "
                "the past century. Nature Communications, 9."
            ),
        ],
    },
    {
        "id": "cryosphere_glaciers_ice_permafrost",
        "title": "The Cryosphere: Glaciers, Ice Sheets and Permafrost",
        "author": "Climatune Demo Editorial Group",
        "sections": [
            (
                "Components of the frozen world",
                [
                    (
                        "The cryosphere comprises every part of the Earth system where water "
                        "exists in frozen form: glaciers and ice caps, the two great ice sheets, "
                        "floating sea ice and ice shelves, seasonal snow, lake and river ice, and "
                        "perennially frozen ground. Glaciers and ice sheets alone cover about 10 "
                        "percent of the land surface, and far larger areas freeze each winter. "
                        "Together they store roughly 70 percent of the world's fresh water."
                    ),
                    (
                        "Frozen surfaces matter for climate far beyond their polar or alpine "
                        "settings. Snow and ice are highly reflective, with fresh snow returning "
                        "up to 80–90 percent of incident sunlight, so their loss amplifies warming "
                        "through the ice–albedo feedback. Meltwater sustains rivers relied on by "
                        "hundreds of millions of people, and the disappearance of land ice is a "
                        "major driver of global sea-level rise."
                    ),
                    (
                        "Because the cryosphere responds sensitively and visibly to temperature, "
                        "it is often described as an early-warning indicator. Many of its "
                        "components are now changing faster than at any time in the instrumental "
                        "record. Satellites, airborne surveys and long-term field stations track "
                        "these changes from the scale of a single glacier tongue to that of entire "
                        "continents."
                    ),
                ],
            ),
            (
                "Mountain glaciers",
                [
                    (
                        "Outside the ice sheets there are more than 200,000 glaciers, ranging from "
                        "small cirque glaciers in the Alps to extensive icefields in Alaska, "
                        "Patagonia and High Mountain Asia. Nearly all of them have been losing "
                        "mass since at least the mid-twentieth century. Globally, glaciers lost "
                        "about 267 billion tonnes of ice per year between 2000 and 2019, enough to "
                        "raise sea level by roughly 0.7 mm per year, and the rate of loss "
                        "increased over that period."
                    ),
                    (
                        "Glacier retreat has immediate local consequences. In the short term, "
                        "enhanced melting can raise summer river flows, a phenomenon known as "
                        "'peak water'; once the ice volume shrinks sufficiently, flows decline, "
                        "threatening irrigation, hydropower and drinking-water supplies during dry "
                        "seasons. The formation of new proglacial lakes increases the hazard of "
                        "glacial lake outburst floods, and thawing slopes become more prone to "
                        "rockfalls and landslides."
                    ),
                    (
                        "Even if warming were halted today, many small glaciers would continue to "
                        "shrink because they are out of balance with the present climate. Model "
                        "studies suggest that limiting warming to 1.5 °C could still mean the loss "
                        "of roughly a quarter of present glacier mass by 2100, and around 40 "
                        "percent under much stronger warming. Measured by number rather than mass, "
                        "about half of the world's glaciers could vanish this century, most of "
                        "them small."
                    ),
                ],
            ),
            (
                "The Greenland and Antarctic ice sheets",
                [
                    (
                        "The Greenland and Antarctic ice sheets contain enough ice to raise global "
                        "sea level by about 7 metres and 58 metres, respectively, if they melted "
                        "completely. Neither is close to total loss, but both have shifted from "
                        "near balance in the early 1990s to sustained net loss. Combined, they now "
                        "shed several hundred billion tonnes of ice per year, and their "
                        "contribution to sea-level rise has grown faster than any other component."
                    ),
                    (
                        "The mechanisms differ between the two. In Greenland, roughly half of the "
                        "loss arises from surface melting and runoff, which has increased as "
                        "summers have warmed, and the remainder from faster discharge of ice "
                        "through marine-terminating outlet glaciers. In Antarctica, most loss "
                        "occurs where relatively warm ocean water melts floating ice shelves from "
                        "below. Thinner shelves provide less buttressing, allowing the grounded "
                        "ice behind them to accelerate toward the sea, as observed at Pine Island "
                        "and Thwaites glaciers in West Antarctica."
                    ),
                    (
                        "A particular concern is marine ice-sheet instability. Much of West "
                        "Antarctica rests on bedrock that lies below sea level and deepens inland; "
                        "once the grounding line begins to retreat along such a slope, retreat can "
                        "become self-sustaining. The timing and threshold for this process remain "
                        "among the largest uncertainties in long-term sea-level projections."
                    ),
                ],
            ),
            (
                "Sea ice and snow cover",
                [
                    (
                        "Arctic sea ice has declined dramatically since continuous satellite "
                        "observations began in 1979. The September minimum extent has fallen by "
                        "roughly 12–13 percent per decade, and the ice that remains is younger and "
                        "thinner than in the 1980s. Multiyear ice, which has survived at least one "
                        "summer melt season, now makes up a much smaller share of the pack. Most "
                        "projections indicate that a September with almost no Arctic sea ice (less "
                        "than 1 million square kilometres) is likely to occur at least once before "
                        "mid-century, even under lower-emission pathways."
                    ),
                    (
                        "Antarctic sea ice behaved differently, expanding slightly over much of "
                        "the satellite era before dropping sharply after 2016 and reaching record "
                        "lows in 2023. Seasonal snow cover in the Northern Hemisphere has also "
                        "declined, especially in late spring, when June snow extent has fallen "
                        "markedly since the late 1960s. Earlier snowmelt shifts the timing of "
                        "river runoff and lengthens the snow-free season during which darker "
                        "ground absorbs heat."
                    ),
                    (
                        "Loss of sea ice has far-reaching ecological and economic consequences. "
                        "Species such as polar bears, walrus and ice-dependent seals rely on the "
                        "ice platform for hunting and breeding, while longer open-water seasons "
                        "are enabling more shipping and resource extraction in Arctic waters. The "
                        "exposure of dark open ocean in summer also strengthens regional warming, "
                        "which is one reason the Arctic has warmed roughly three to four times "
                        "faster than the global average since 1979."
                    ),
                ],
            ),
            (
                "Permafrost and the carbon it holds",
                [
                    (
                        "Permafrost is ground that remains at or below 0 °C for at least two "
                        "consecutive years. It underlies nearly a quarter of the exposed land in "
                        "the Northern Hemisphere, across Siberia, Alaska, northern Canada and the "
                        "Tibetan Plateau, and reaches depths of more than 1,000 metres in places. "
                        "Borehole measurements show that permafrost warmed by about 0.3 °C on "
                        "average between 2007 and 2016, with the largest increases at cold sites "
                        "in the continuous permafrost zone."
                    ),
                    (
                        "Permafrost regions store roughly 1,400 to 1,600 billion tonnes of organic "
                        "carbon, accumulated over millennia from plant material that froze before "
                        "it could decompose. This is nearly twice the amount of carbon currently "
                        "held in the atmosphere. As the ground thaws, microbes break down part of "
                        "this material, releasing carbon dioxide and, in waterlogged soils, "
                        "methane. Estimates of this permafrost carbon feedback are uncertain, but "
                        "it could add tens of billions to more than a hundred billion tonnes of "
                        "carbon to the atmosphere by 2100 under high warming."
                    ),
                    (
                        "Thaw also has direct effects on people and infrastructure. Ground "
                        "subsidence and the collapse of ice-rich soils, known as thermokarst, can "
                        "damage buildings, pipelines, roads and airstrips, and coastal permafrost "
                        "is eroding rapidly where it is no longer protected by sea ice. Arctic "
                        "communities, many of them Indigenous, are already investing in "
                        "relocation, foundation redesign and monitoring to cope with these "
                        "changes."
                    ),
                ],
            ),
        ],
        "references": [
            (
                "IPCC (2019). Special Report on the Ocean and Cryosphere in a Changing Climate. "
                "Cambridge University Press."
            ),
            (
                "Hugonnet, R. et al. (2021). Accelerated global glacier mass loss in the early "
                "twenty-first century. Nature, 592."
            ),
            (
                "Rounce, D. R. et al. (2023). Global glacier change in the 21st century: every "
                "increase in temperature matters. Science, 379."
            ),
            (
                "The IMBIE Team (2018). Mass balance of the Antarctic Ice Sheet from 1992 to 2017. "
                "Nature, 558."
            ),
            (
                "Schuur, E. A. G. et al. (2015). Climate change and the permafrost carbon "
                "feedback. Nature, 520."
            ),
            (
                "Biskaborn, B. K. et al. (2019). Permafrost is warming at a global scale. Nature "
                "Communications, 10."
            ),
        ],
    },
    {
        "id": "carbon_cycle_land_sinks",
        "title": "The Carbon Cycle and Land Sinks",
        "author": "Climatune Demo Editorial Group",
        "sections": [
            (
                "Reservoirs and fluxes",
                [
                    (
                        "Carbon moves continuously between the atmosphere, the oceans, living "
                        "organisms, soils and rocks. The largest active reservoir is the deep "
                        "ocean, which holds roughly 37,000 billion tonnes of carbon (GtC) in "
                        "dissolved form; geological stores in sediments and rocks are vastly "
                        "larger still but exchange carbon only over millions of years. The "
                        "atmosphere holds approximately 870 GtC today, terrestrial vegetation "
                        "around 450 to 650 GtC, and soils, including permafrost, several thousand "
                        "GtC more."
                    ),
                    (
                        "The natural flows between these pools are large. Photosynthesis on land "
                        "removes roughly 120 GtC from the atmosphere each year, while respiration "
                        "by plants, animals and microbes, together with fires, returns almost the "
                        "same amount. The ocean surface likewise exchanges about 80 to 90 GtC with "
                        "the air annually. Before industrialisation, these exchanges were nearly "
                        "balanced over centuries, keeping CO2 concentrations within a narrow range "
                        "of roughly 260 to 280 ppm throughout the Holocene."
                    ),
                    (
                        "Slow geological processes, including the weathering of silicate rocks and "
                        "the burial of organic carbon in marine sediments, regulate atmospheric "
                        "CO2 over hundreds of thousands of years. They are far too sluggish, "
                        "however, to counteract the pace of today's emissions."
                    ),
                ],
            ),
            (
                "Where human emissions go",
                [
                    (
                        "Human activities have disturbed this balance by moving carbon from "
                        "long-term geological storage into the fast cycle. In recent years, fossil "
                        "fuel combustion and cement production have released roughly 10 GtC per "
                        "year (about 37 billion tonnes of CO2), and land-use change, chiefly "
                        "deforestation, has added around 1 to 1.5 GtC per year. Between 1850 and "
                        "2019, cumulative anthropogenic emissions amounted to about 2,400 billion "
                        "tonnes of CO2."
                    ),
                    (
                        "Only part of this carbon stays in the air. Averaged over the past six "
                        "decades, about 45 percent of emissions have accumulated in the "
                        "atmosphere, while the ocean has absorbed roughly a quarter and land "
                        "ecosystems a little under a third. The fraction remaining airborne has "
                        "been remarkably steady even as emissions have grown several-fold, which "
                        "means the natural sinks have strengthened roughly in proportion to the "
                        "rising concentration."
                    ),
                    (
                        "Scientists track this partitioning through the annual Global Carbon "
                        "Budget, which combines atmospheric measurements, ocean observations, "
                        "national inventories and process models. Because the sinks cannot be "
                        "measured as precisely as fossil emissions, a residual 'budget imbalance' "
                        "is reported explicitly, revealing gaps in current understanding."
                    ),
                ],
            ),
            (
                "The terrestrial sink",
                [
                    (
                        "The land sink results from several processes that together increase "
                        "carbon storage in vegetation and soils. Higher CO2 concentrations "
                        "stimulate photosynthesis and improve water-use efficiency in many plants, "
                        "a mechanism known as CO2 fertilisation. Nitrogen deposition from "
                        "pollution, longer growing seasons at high latitudes, and the regrowth of "
                        "forests on abandoned farmland add to the uptake. In recent decades the "
                        "land sink has averaged about 3 GtC per year, although individual years "
                        "have ranged from near zero to more than 4 GtC."
                    ),
                    (
                        "Forests dominate the sink. Intact tropical forests in the Amazon, the "
                        "Congo Basin and Southeast Asia have historically absorbed large amounts "
                        "of carbon, while temperate and boreal forests in North America, Europe "
                        "and Asia contribute substantial regrowth uptake. The sink is highly "
                        "variable from year to year, however. During strong El Nino events, "
                        "drought and fire across the tropics can temporarily turn parts of the "
                        "land surface into a net source, which is the main reason the growth rate "
                        "of atmospheric CO2 fluctuates."
                    ),
                    (
                        "Evidence from long-term forest plots suggests that the capacity of intact "
                        "tropical forests to absorb carbon has been weakening since the 1990s, "
                        "partly because tree mortality has risen with heat and drought. Aircraft "
                        "measurements indicate that parts of the southeastern Amazon, heavily "
                        "affected by deforestation and degradation, now emit more carbon than they "
                        "take up."
                    ),
                ],
            ),
            (
                "Ocean uptake and acidification",
                [
                    (
                        "The ocean absorbs CO2 because the gas dissolves in seawater and reacts to "
                        "form carbonic acid, bicarbonate and carbonate ions. This chemistry allows "
                        "the ocean to take up far more carbon than simple solubility would "
                        "suggest. Surface waters equilibrate with the atmosphere within about a "
                        "year, but transferring carbon to the deep ocean through circulation and "
                        "through the sinking of organic particles (the so-called biological pump) "
                        "takes decades to centuries."
                    ),
                    (
                        "The oceanic sink is estimated at about 2.5 to 3 GtC per year in recent "
                        "years. The Southern Ocean plays an outsized role, accounting for roughly "
                        "40 percent of the anthropogenic CO2 taken up by the global ocean, because "
                        "its vigorous overturning brings old, carbon-poor deep water to the "
                        "surface, where it can absorb fresh CO2 before sinking again."
                    ),
                    (
                        "This service has a cost. The uptake of CO2 has lowered average "
                        "surface-ocean pH by about 0.1 units since preindustrial times, which "
                        "corresponds to an increase in hydrogen-ion concentration of roughly 30 "
                        "percent. Ocean acidification reduces the availability of carbonate ions "
                        "that corals, molluscs and some plankton need to build shells and "
                        "skeletons, with potential knock-on effects throughout marine food webs."
                    ),
                ],
            ),
            (
                "Observing the carbon cycle",
                [
                    (
                        "Continuous measurement of atmospheric CO2 began in 1958, when Charles "
                        "David Keeling started sampling air at Mauna Loa Observatory in Hawaii. "
                        "The resulting Keeling Curve shows both a steady upward trend and a "
                        "seasonal oscillation of several ppm, as Northern Hemisphere vegetation "
                        "draws down CO2 in summer and releases it in winter. A global network of "
                        "flask-sampling stations, tall towers and research aircraft now "
                        "complements the Hawaiian record."
                    ),
                    (
                        "Isotopes provide an independent check on the origin of the extra carbon. "
                        "Fossil fuels contain no carbon-14 and are depleted in carbon-13, so their "
                        "combustion lowers the atmospheric ratios of both isotopes, a signature "
                        "known as the Suess effect. Satellites such as NASA's Orbiting Carbon "
                        "Observatory-2, launched in 2014, add column-averaged measurements that "
                        "help to locate sources and sinks from space."
                    ),
                ],
            ),
            (
                "Will the sinks persist?",
                [
                    (
                        "Whether land and ocean sinks will continue to absorb a similar share of "
                        "emissions is a central question for climate projections. Several factors "
                        "point toward weakening. Warmer water holds less dissolved gas, and "
                        "increasing acidity reduces the chemical buffering capacity of seawater. "
                        "On land, the fertilisation effect may saturate as nutrients such as "
                        "nitrogen and phosphorus become limiting, while heat, drought, fire and "
                        "insect outbreaks increase losses."
                    ),
                    (
                        "Earth system models consistently show that the sinks grow in absolute "
                        "terms under higher emissions but absorb a smaller fraction, so the "
                        "airborne share rises. Conversely, if emissions decline, the sinks weaken "
                        "as the concentration gradient that drives them shrinks. Both outcomes "
                        "imply that reaching and holding a stable temperature requires steep "
                        "reductions in emissions, and that natural systems cannot be relied upon "
                        "to compensate for continued fossil fuel use."
                    ),
                    (
                        "Protecting existing carbon stocks, particularly in old-growth forests, "
                        "peatlands and coastal wetlands (mangroves, salt marshes and seagrass "
                        "meadows), is therefore a priority in its own right. These ecosystems can "
                        "lose within a few years carbon that took centuries or millennia to "
                        "accumulate."
                    ),
                ],
            ),
        ],
        "references": [
            (
                "Friedlingstein, P. et al. (2023). Global Carbon Budget 2023. Earth System Science "
                "Data, 15."
            ),
            (
                "IPCC (2021). Climate Change 2021: The Physical Science Basis. Cambridge "
                "University Press."
            ),
            (
                "Le Quere, C. et al. (2009). Trends in the sources and sinks of carbon dioxide. "
                "Nature Geoscience, 2."
            ),
            (
                "Hubau, W. et al. (2020). Asynchronous carbon sink saturation in African and "
                "Amazonian tropical forests. Nature, 579."
            ),
            (
                "Gatti, L. V. et al. (2021). Amazonia as a carbon source linked to deforestation "
                "and climate change. Nature, 595."
            ),
            (
                "Doney, S. C. et al. (2009). Ocean acidification: the other CO2 problem. Annual "
                "Review of Marine Science, 1."
            ),
        ],
    },
    {
        "id": "extreme_heat_drought_water_cycle",
        "title": "Extreme Heat, Drought and the Water Cycle",
        "author": "Climatune Demo Editorial Group",
        "sections": [
            (
                "A warmer world and a more vigorous water cycle",
                [
                    (
                        "The water cycle links evaporation from oceans and land, the transport of "
                        "vapour by the atmosphere, precipitation, and the return of water through "
                        "rivers and groundwater. Warming alters every step. The Clausius–Clapeyron "
                        "relation, a basic result of thermodynamics, implies that saturated air "
                        "can hold about 7 percent more water vapour for each degree Celsius of "
                        "warming. Observations confirm that total atmospheric moisture has "
                        "increased broadly in line with this expectation over recent decades."
                    ),
                    (
                        "More moisture does not mean more rain everywhere. Global mean "
                        "precipitation increases more slowly, by roughly 1 to 3 percent per "
                        "degree, because it is constrained by the atmosphere's ability to radiate "
                        "away the latent heat released when vapour condenses. The result is a "
                        "redistribution: precipitation becomes more concentrated in intense "
                        "events, wet regions and seasons tend to become wetter, and many dry "
                        "regions face longer intervals between rainfall and greater evaporative "
                        "demand."
                    ),
                    (
                        "Shifts in atmospheric circulation, including a poleward expansion of the "
                        "subtropical dry zones, add regional complexity. For this reason, "
                        "projections of local rainfall are considerably less certain than "
                        "projections of temperature, and compound events (such as a heatwave "
                        "coinciding with drought) deserve particular attention in risk "
                        "assessments."
                    ),
                ],
            ),
            (
                "Heatwaves",
                [
                    (
                        "Heat extremes are the clearest manifestation of climate change in "
                        "everyday weather. Hot days and nights have become more frequent and more "
                        "intense across almost every inhabited region since the 1950s, while cold "
                        "extremes have become rarer. A heat event that would have occurred once in "
                        "ten years in a climate without human influence now occurs almost three "
                        "times as often, and at 2 °C of global warming it would be expected more "
                        "than five times per decade."
                    ),
                    (
                        "Attribution science can now quantify the human fingerprint on individual "
                        "events within days or weeks. Several recent heatwaves have been found to "
                        "be virtually impossible without anthropogenic warming, including the "
                        "Pacific Northwest heat of June 2021, when Lytton in British Columbia "
                        "reached 49.6 °C, a national record for Canada. The European summer of "
                        "2003, estimated to have caused around 70,000 excess deaths, was an early "
                        "case in which a human contribution was formally demonstrated."
                    ),
                    (
                        "Humidity compounds the danger. The human body cools itself by evaporating "
                        "sweat, which becomes ineffective when both temperature and humidity are "
                        "very high. Wet-bulb temperature combines the two variables, and sustained "
                        "values above roughly 31–35 °C are considered a threshold beyond which "
                        "even healthy people at rest cannot maintain a safe core temperature. Such "
                        "conditions have already been briefly recorded in parts of South Asia and "
                        "the Persian Gulf. Nights are also warming faster than days in many "
                        "regions, limiting the body's opportunity to recover."
                    ),
                ],
            ),
            (
                "Heavy precipitation and flooding",
                [
                    (
                        "As the atmosphere holds more moisture, the heaviest rainfall events "
                        "deliver more water. The frequency and intensity of heavy precipitation "
                        "have increased over the majority of land regions with sufficient "
                        "observations. Short-duration downpours lasting an hour or less may "
                        "intensify even faster than the Clausius–Clapeyron rate, which poses "
                        "particular problems for urban drainage systems designed around historical "
                        "statistics."
                    ),
                    (
                        "Flooding also depends on land use, soil conditions and river management, "
                        "so trends in flood damage are not simply a mirror of rainfall trends. "
                        "Nonetheless, events such as the July 2021 floods in Germany and Belgium, "
                        "and the 2022 floods in Pakistan that left roughly a third of the country "
                        "under water at their peak, illustrate how intense rainfall interacting "
                        "with vulnerable landscapes can cause catastrophic losses."
                    ),
                    (
                        "Tropical cyclones show related changes. The proportion of storms reaching "
                        "the most intense categories (4 and 5) has likely increased, and rainfall "
                        "rates near the storm core rise with warming. Hurricane Harvey, which "
                        "stalled over Texas in 2017 and delivered more than 1,500 millimetres of "
                        "rain in places, is a well-studied case in which warming was found to have "
                        "increased total rainfall by an estimated 15 percent or more."
                    ),
                ],
            ),
            (
                "Drought in its many forms",
                [
                    (
                        "Drought is a deficit of water relative to normal conditions, but it can "
                        "be defined in several ways. Meteorological drought refers to a shortfall "
                        "in precipitation; agricultural or ecological drought to insufficient soil "
                        "moisture for plants; and hydrological drought to reduced streamflow, "
                        "reservoir and groundwater levels. Warming affects each type differently, "
                        "chiefly by increasing evapotranspiration, which dries soils and "
                        "vegetation even when rainfall is unchanged."
                    ),
                    (
                        "Increases in agricultural and ecological drought have been detected in "
                        "regions including the Mediterranean, western North America, southern "
                        "Africa and northeastern South America. The southwestern United States and "
                        "northern Mexico experienced an exceptionally dry period from 2000 to "
                        "2021, assessed as the driest 22-year span in at least 1,200 years, with "
                        "warming responsible for a substantial share of its severity. Reduced "
                        "snowpack and earlier melt further deplete water supplies in basins such "
                        "as that of the Colorado River."
                    ),
                    (
                        "So-called flash droughts, which develop within a few weeks when high "
                        "temperatures coincide with a lack of rain, have drawn growing attention "
                        "because they leave little time for farmers and water managers to respond."
                    ),
                ],
            ),
            (
                "Snowpack, groundwater and rivers",
                [
                    (
                        "In many mountain regions, winter snow acts as a natural reservoir that "
                        "releases water gradually through spring and summer. Warmer winters cause "
                        "more precipitation to fall as rain rather than snow and bring forward the "
                        "timing of melt, so peak river flows arrive earlier and late-summer flows "
                        "decline. Basins fed by the Alps, the Andes, the Rocky Mountains and the "
                        "Hindu Kush–Himalaya are particularly sensitive to this shift."
                    ),
                    (
                        "Groundwater supplies about half of the water used for domestic purposes "
                        "worldwide and a large share of irrigation. It buffers communities against "
                        "drought, but it is being depleted in several major aquifers, including "
                        "those beneath northern India, the North China Plain and the High Plains "
                        "of the United States. Satellite gravity data have made such depletion "
                        "visible at regional scale, revealing losses that are difficult to reverse "
                        "on human timescales."
                    ),
                ],
            ),
            (
                "Consequences for people and ecosystems",
                [
                    (
                        "The health burden of heat is large and often underestimated, because "
                        "deaths are rarely attributed to heat on certificates. Older adults, "
                        "outdoor workers, people with chronic illnesses and those living without "
                        "access to cooling are most at risk. Heat also reduces labour "
                        "productivity; widely cited estimates suggest that hundreds of billions of "
                        "potential working hours are lost globally each year to heat exposure."
                    ),
                    (
                        "Water stress interacts with food production, energy supply and "
                        "ecosystems. Hydropower and thermal power plants need reliable water flows "
                        "for generation and cooling, and low river levels can disrupt navigation "
                        "on waterways such as the Rhine. Dry vegetation fuels wildfires, whose "
                        "seasons have lengthened in many regions. Around four billion people, "
                        "roughly half of humanity, already face severe water scarcity during at "
                        "least one month of the year, and that number is expected to grow as "
                        "warming continues."
                    ),
                    (
                        "Because the changes scale with global temperature, every increment of "
                        "avoided warming reduces the frequency of dangerous extremes. "
                        "Early-warning systems, heat-action plans and improved water management "
                        "can also lower the toll substantially."
                    ),
                ],
            ),
        ],
        "references": [
            (
                "IPCC (2021). Climate Change 2021: The Physical Science Basis. Chapter 11: Weather "
                "and Climate Extreme Events in a Changing Climate. Cambridge University Press."
            ),
            (
                "Held, I. M. and Soden, B. J. (2006). Robust responses of the hydrological cycle "
                "to global warming. Journal of Climate, 19(21)."
            ),
            (
                "Philip, S. Y. et al. (2022). Rapid attribution analysis of the extraordinary heat "
                "wave on the Pacific coast of the US and Canada in June 2021. Earth System "
                "Dynamics, 13."
            ),
            (
                "Raymond, C., Matthews, T. and Horton, R. M. (2020). The emergence of heat and "
                "humidity too severe for human tolerance. Science Advances, 6(19)."
            ),
            (
                "Williams, A. P., Cook, B. I. and Smerdon, J. E. (2022). Rapid intensification of "
                "the emerging southwestern North American megadrought in 2020–2021. Nature Climate "
                "Change, 12."
            ),
            (
                "Mekonnen, M. M. and Hoekstra, A. Y. (2016). Four billion people facing severe "
                "water scarcity. Science Advances, 2(2)."
            ),
        ],
    },
    {
        "id": "climate_models_scenarios_sensitivity",
        "title": "Climate Models, Scenarios and Climate Sensitivity",
        "author": "Climatune Demo Editorial Group",
        "sections": [
            (
                "What climate models are",
                [
                    (
                        "A climate model is a numerical representation of the physical laws that "
                        "govern the atmosphere, ocean, land surface and ice. The equations of "
                        "fluid motion, thermodynamics and radiative transfer are solved on a "
                        "three-dimensional grid that covers the globe, stepping forward in time "
                        "increments of a few minutes. Typical global models use horizontal grid "
                        "spacings of about 50 to 250 kilometres, with dozens of vertical levels in "
                        "both the atmosphere and the ocean."
                    ),
                    (
                        "Many important processes, such as cloud formation, convection and "
                        "turbulence, occur on scales smaller than a grid cell. These must be "
                        "represented by parameterisations: simplified formulas that estimate the "
                        "collective effect of unresolved processes from the resolved variables. "
                        "Differences in parameterisation, especially of low clouds, are a leading "
                        "cause of the spread among models."
                    ),
                    (
                        "The most comprehensive tools, known as Earth system models, add "
                        "interactive biogeochemistry. They simulate the carbon cycle, vegetation "
                        "dynamics, atmospheric chemistry and aerosols, so that concentrations of "
                        "CO2 can respond to climate rather than being prescribed. Simpler "
                        "emulators and energy-balance models complement them by exploring "
                        "thousands of scenarios quickly and cheaply."
                    ),
                ],
            ),
            (
                "A brief history",
                [
                    (
                        "The foundations of climate modelling were laid in the 1960s, when Syukuro "
                        "Manabe and colleagues used a one-dimensional radiative-convective model "
                        "to calculate how surface temperature would respond to a doubling of CO2. "
                        "Their estimate of about 2.3 °C, obtained with very limited computing "
                        "power, proved remarkably close to modern values. Manabe shared the 2021 "
                        "Nobel Prize in Physics in recognition of this work, together with Klaus "
                        "Hasselmann and Giorgio Parisi."
                    ),
                    (
                        "The first coupled atmosphere–ocean general circulation models appeared in "
                        "the late 1960s and 1970s, and by the 1990s they had been extended to "
                        "include sea ice, land-surface processes and aerosols. Over the same "
                        "period, available computing power increased by many orders of magnitude, "
                        "allowing finer grids, longer simulations and larger ensembles."
                    ),
                ],
            ),
            (
                "Model intercomparison and evaluation",
                [
                    (
                        "Since the 1990s, modelling centres around the world have coordinated "
                        "their experiments through the Coupled Model Intercomparison Project "
                        "(CMIP), organised under the World Climate Research Programme. Each phase "
                        "specifies a common set of simulations, including historical runs from "
                        "1850 to the present and future projections under standard scenarios, so "
                        "that results can be compared directly. The sixth phase, CMIP6, involved "
                        "more than 100 models from roughly 50 institutions."
                    ),
                    (
                        "Models are evaluated against a wide range of observations: the global "
                        "temperature record, the seasonal cycle, the distribution of rainfall, "
                        "sea-ice extent, ocean heat content, and modes of variability such as El "
                        "Nino. They are also tested against past climates, for example the Last "
                        "Glacial Maximum about 21,000 years ago, when global temperatures were "
                        "roughly 5 to 7 °C lower than preindustrial. Projections published decades "
                        "ago, including those from the 1970s and 1980s, have generally anticipated "
                        "the observed warming well once actual emissions are taken into account."
                    ),
                    (
                        "Emergent constraints offer another evaluation strategy. When a model's "
                        "simulation of some observable present-day quantity correlates across the "
                        "ensemble with its future response, observations of that quantity can be "
                        "used to narrow the range of projections. Such relationships require a "
                        "clear physical explanation, however, or they may simply reflect "
                        "assumptions shared among models."
                    ),
                ],
            ),
            (
                "Shared Socioeconomic Pathways",
                [
                    (
                        "Future climate depends on human choices that cannot be predicted with "
                        "certainty, so projections are made conditional on scenarios. The Shared "
                        "Socioeconomic Pathways (SSPs) describe five broad narratives of how "
                        "society, demographics, technology and economics could evolve during the "
                        "twenty-first century. SSP1 envisions sustainable development, SSP2 a "
                        "middle-of-the-road trajectory, SSP3 regional rivalry, SSP4 deepening "
                        "inequality, and SSP5 fossil-fuelled development."
                    ),
                    (
                        "These socioeconomic narratives are combined with targets for radiative "
                        "forcing in 2100, creating labels such as SSP1-2.6 or SSP5-8.5, where the "
                        "number after the hyphen gives the approximate forcing in W/m2. A set of "
                        "core scenarios spans the range: SSP1-1.9 and SSP1-2.6 represent strong "
                        "mitigation consistent with the Paris goals; SSP2-4.5 roughly approximates "
                        "a continuation of current policies; and SSP3-7.0 and SSP5-8.5 describe "
                        "high to very high emissions."
                    ),
                    (
                        "Under these scenarios, best-estimate warming for 2081–2100 relative to "
                        "1850–1900 ranges from about 1.4 °C for SSP1-1.9 to about 4.4 °C for "
                        "SSP5-8.5. Very high-emission scenarios are now considered less likely "
                        "given current policy trends, yet they remain useful for studying the "
                        "climate response to strong forcing and for stress-testing adaptation "
                        "plans."
                    ),
                ],
            ),
            (
                "Equilibrium and transient climate sensitivity",
                [
                    (
                        "Climate sensitivity summarises how strongly the climate responds to a "
                        "given forcing. Equilibrium climate sensitivity (ECS) is the long-term "
                        "global surface warming that would follow a sustained doubling of "
                        "atmospheric CO2 once the ocean and atmosphere have fully adjusted, a "
                        "process that takes many centuries. Transient climate response (TCR) is "
                        "the warming at the moment of doubling when CO2 rises by 1 percent per "
                        "year, which takes about 70 years, and it is more directly relevant to the "
                        "present century."
                    ),
                    (
                        "For decades, the likely range of ECS was quoted as 1.5 to 4.5 °C, a span "
                        "first articulated in the 1979 Charney report. Recent assessments have "
                        "narrowed it by combining multiple lines of evidence: process "
                        "understanding of feedbacks, the historical temperature record, and "
                        "paleoclimate reconstructions. The current best estimate is 3 °C, with a "
                        "likely range of 2.5 to 4 °C and a very likely range of 2 to 5 °C. The "
                        "best estimate of TCR is 1.8 °C."
                    ),
                    (
                        "Notably, a subset of CMIP6 models has ECS values above 5 °C, higher than "
                        "the assessed range. Because these 'hot models' tend to overestimate "
                        "recent warming, analysts increasingly weight or screen models according "
                        "to their consistency with observed trends, rather than treating every "
                        "model as equally plausible."
                    ),
                ],
            ),
            (
                "Using projections wisely",
                [
                    (
                        "Projections carry three main sources of uncertainty. Scenario uncertainty "
                        "reflects unknown future emissions and dominates by the end of the "
                        "century. Model uncertainty reflects structural differences and is largest "
                        "for regional rainfall and for quantities tied to clouds. Internal "
                        "variability, the chaotic fluctuation of the climate system itself, "
                        "matters most over the next one or two decades and at local scales; large "
                        "ensembles with dozens of members help to quantify it."
                    ),
                    (
                        "For decision-makers, it is often more useful to express outcomes as a "
                        "function of global warming level rather than of calendar year. Many "
                        "regional changes, such as the intensity of hot extremes, scale closely "
                        "with global mean temperature regardless of which scenario produced that "
                        "warming. Downscaling, either with high-resolution regional models or with "
                        "statistical techniques, then translates global projections to the scales "
                        "relevant for infrastructure, agriculture and water planning, though it "
                        "cannot remove errors inherited from the driving global model."
                    ),
                    (
                        "Climate models are also increasingly used for near-term prediction. "
                        "Decadal forecasts initialised from observed ocean conditions attempt to "
                        "anticipate fluctuations over the next five to ten years, and the growing "
                        "field of kilometre-scale modelling, made possible by new supercomputers, "
                        "aims to resolve convective storms directly instead of parameterising "
                        "them."
                    ),
                ],
            ),
        ],
        "references": [
            (
                "IPCC (2021). Climate Change 2021: The Physical Science Basis. Cambridge "
                "University Press."
            ),
            (
                "Eyring, V. et al. (2016). Overview of the Coupled Model Intercomparison Project "
                "Phase 6 (CMIP6) experimental design and organization. Geoscientific Model "
                "Development, 9."
            ),
            (
                "O'Neill, B. C. et al. (2016). The Scenario Model Intercomparison Project "
                "(ScenarioMIP) for CMIP6. Geoscientific Model Development, 9."
            ),
            (
                "Sherwood, S. C. et al. (2020). An assessment of Earth's climate sensitivity using "
                "multiple lines of evidence. Reviews of Geophysics, 58."
            ),
            (
                "National Research Council (1979). Carbon Dioxide and Climate: A Scientific "
                "Assessment. National Academy of Sciences."
            ),
            (
                "Hausfather, Z. et al. (2020). Evaluating the performance of past climate model "
                "projections. Geophysical Research Letters, 47."
            ),
        ],
    },
    {
        "id": "mitigation_energy_transition_budgets",
        "title": "Mitigation: The Energy Transition and Carbon Budgets",
        "author": "Climatune Demo Editorial Group",
        "sections": [
            (
                "The emissions picture",
                [
                    (
                        "Global greenhouse gas emissions reached roughly 55 to 59 billion tonnes "
                        "of CO2-equivalent per year in the early 2020s, the highest level in "
                        "history. Carbon dioxide from fossil fuels and industry makes up about "
                        "two-thirds of that total, with methane, nitrous oxide, fluorinated gases "
                        "and CO2 from land-use change accounting for the rest. Energy supply, "
                        "industry, transport and buildings together are responsible for about "
                        "three-quarters of emissions."
                    ),
                    (
                        "Emissions are unevenly distributed. Per-capita emissions vary by more "
                        "than an order of magnitude between high-income and low-income countries, "
                        "and historical cumulative emissions are concentrated among countries that "
                        "industrialised early. At the same time, emissions growth over the last "
                        "two decades has been driven mainly by emerging economies, while emissions "
                        "in the European Union and the United States have declined from their "
                        "peaks."
                    ),
                    (
                        "Despite record deployment of clean technologies, global emissions have "
                        "not yet peaked decisively. Methane deserves particular attention: about "
                        "60 percent of methane emissions are human-caused, and cutting them, "
                        "especially leaks and venting from oil and gas operations, is among the "
                        "fastest ways to slow near-term warming."
                    ),
                ],
            ),
            (
                "Carbon budgets and net zero",
                [
                    (
                        "Because CO2 accumulates in the atmosphere and the resulting warming is "
                        "roughly proportional to cumulative emissions, each tonne emitted adds a "
                        "similar increment of warming. Scientists estimate that every 1,000 "
                        "billion tonnes of CO2 raises global temperature by about 0.45 °C (likely "
                        "range 0.27–0.63 °C). This near-linear relationship underpins the concept "
                        "of a remaining carbon budget: the total net amount of CO2 that can still "
                        "be emitted while keeping warming below a chosen limit with a stated "
                        "probability."
                    ),
                    (
                        "From the start of 2020, the remaining budget for a 50 percent chance of "
                        "limiting warming to 1.5 °C was about 500 billion tonnes of CO2; for 2 °C "
                        "it was roughly 1,350 billion tonnes. With annual CO2 emissions near 40 "
                        "billion tonnes, the 1.5 °C budget would be exhausted after little more "
                        "than a decade of current emissions, and updated estimates published since "
                        "then are smaller still. Budgets also depend on how quickly methane and "
                        "other non-CO2 gases are reduced."
                    ),
                    (
                        "The corollary is that stabilising temperature requires net-zero CO2 "
                        "emissions, a state in which any remaining emissions are balanced by "
                        "deliberate removals. Pathways that limit warming to 1.5 °C with no or "
                        "limited overshoot reach global net-zero CO2 around 2050 and cut "
                        "greenhouse gas emissions by about 43 percent from 2019 levels by 2030."
                    ),
                ],
            ),
            (
                "Decarbonising electricity",
                [
                    (
                        "Electricity is the sector where the technological path is clearest. The "
                        "cost of solar photovoltaic power fell by roughly 90 percent during the "
                        "2010s, and onshore wind costs fell by more than half, making new "
                        "renewable generation cheaper than new fossil power in most markets. "
                        "Global solar capacity additions exceeded 400 gigawatts in 2023, and "
                        "renewables supplied about 30 percent of global electricity that year."
                    ),
                    (
                        "Integrating high shares of variable renewables requires flexibility: "
                        "stronger transmission grids, battery and pumped-hydro storage, demand "
                        "response, and dispatchable low-carbon sources such as hydropower, "
                        "geothermal, nuclear, or gas plants equipped with carbon capture. "
                        "Lithium-ion battery pack prices dropped by around 90 percent between 2010 "
                        "and 2023, enabling both grid storage and the rapid growth of electric "
                        "vehicles."
                    ),
                    (
                        "Phasing out unabated coal, which remains the largest single source of "
                        "energy-related CO2, is a priority. Many countries have committed to "
                        "ending coal power, but new capacity continues to be built elsewhere, and "
                        "the early retirement of young plants raises difficult questions of "
                        "financing and of fairness for workers and communities."
                    ),
                ],
            ),
            (
                "Transport, buildings and industry",
                [
                    (
                        "In transport, the electrification of road vehicles is advancing quickly: "
                        "electric cars accounted for around 18 percent of new car sales worldwide "
                        "in 2023, up from about 4 percent in 2020. Aviation and shipping are "
                        "harder to decarbonise and will likely depend on sustainable fuels such as "
                        "advanced biofuels, hydrogen, ammonia or synthetic hydrocarbons, alongside "
                        "efficiency gains and demand management."
                    ),
                    (
                        "Buildings can cut emissions through better insulation, efficient "
                        "appliances and the replacement of fossil boilers with heat pumps, which "
                        "deliver three to four units of heat for each unit of electricity "
                        "consumed. Heavy industries such as steel, cement and chemicals present "
                        "distinct challenges, because high temperatures and process emissions are "
                        "intrinsic to current production methods. Options include hydrogen-based "
                        "direct reduction of iron, electrified furnaces, alternative cement "
                        "chemistries, material efficiency, and carbon capture and storage."
                    ),
                    (
                        "Demand-side measures, from compact urban design and public transport to "
                        "reduced food waste, could lower emissions in end-use sectors by an "
                        "estimated 40 to 70 percent by 2050 compared with baseline scenarios, "
                        "while often improving wellbeing."
                    ),
                ],
            ),
            (
                "Policy instruments",
                [
                    (
                        "Governments use a mix of instruments to drive emission reductions. Carbon "
                        "pricing, through taxes or emissions trading systems, gives every emitter "
                        "an incentive to cut where it is cheapest. Regulations and standards, such "
                        "as vehicle fuel-economy rules, appliance efficiency labels and building "
                        "codes, address markets where price signals are weak. Subsidies, tax "
                        "credits and public procurement help new technologies move down their "
                        "learning curves until they can compete without support."
                    ),
                    (
                        "Removing fossil fuel subsidies is another lever: according to the "
                        "International Energy Agency, explicit subsidies for fossil fuel "
                        "consumption exceeded 1 trillion US dollars in 2022, a year of "
                        "exceptionally high energy prices. Policy packages that combine several "
                        "instruments tend to be more effective than any single measure, and their "
                        "credibility improves when they are anchored in long-term legislation, "
                        "such as framework climate laws with legally binding targets."
                    ),
                ],
            ),
            (
                "Carbon dioxide removal and the pace of change",
                [
                    (
                        "Even in ambitious pathways, some residual emissions from agriculture, "
                        "aviation and industry are expected to persist. Counterbalancing them "
                        "requires carbon dioxide removal (CDR). Established approaches include "
                        "afforestation, reforestation and soil carbon management; newer approaches "
                        "include bioenergy with carbon capture and storage (BECCS), direct air "
                        "capture, enhanced rock weathering and ocean-based methods. Today, almost "
                        "all removal comes from conventional land-based methods, and novel "
                        "techniques remove only a few million tonnes of CO2 per year."
                    ),
                    (
                        "Removal is not a substitute for rapid emission cuts. Large-scale CDR "
                        "faces constraints of cost, energy demand, land availability and "
                        "permanence, and relying on future removals to reverse a temporary "
                        "overshoot of 1.5 °C carries the risk of irreversible impacts in the "
                        "meantime. Most assessments therefore emphasise deploying available "
                        "mitigation options now, while developing removal capacity for the "
                        "residual emissions that remain."
                    ),
                    (
                        "The transition also brings broad co-benefits. Cutting fossil fuel "
                        "combustion reduces outdoor air pollution, which is linked to several "
                        "million premature deaths each year, and improved energy efficiency lowers "
                        "household bills. Managing the social side of the change, through "
                        "retraining programmes, regional investment and support for affected "
                        "workers, is widely described as a just transition and is increasingly "
                        "embedded in national policy."
                    ),
                ],
            ),
        ],
        "references": [
            (
                "IPCC (2022). Climate Change 2022: Mitigation of Climate Change. Contribution of "
                "Working Group III to the Sixth Assessment Report. Cambridge University Press."
            ),
            (
                "IEA (2021). Net Zero by 2050: A Roadmap for the Global Energy Sector. "
                "International Energy Agency."
            ),
            (
                "UNEP (2023). Emissions Gap Report 2023: Broken Record. United Nations Environment "
                "Programme."
            ),
            (
                "Matthews, H. D., Gillett, N. P., Stott, P. A. and Zickfeld, K. (2009). The "
                "proportionality of global warming to cumulative carbon emissions. Nature, 459."
            ),
            (
                "IRENA (2023). Renewable Power Generation Costs in 2022. International Renewable "
                "Energy Agency."
            ),
            "Smith, S. M. et al. (2023). The State of Carbon Dioxide Removal, 1st Edition.",
        ],
    },
    {
        "id": "urban_adaptation_infrastructure",
        "title": "Adaptation in Cities and Infrastructure",
        "author": "Climatune Demo Editorial Group",
        "sections": [
            (
                "Why cities are on the front line",
                [
                    (
                        "More than half of the world's population lives in urban areas, a share "
                        "expected to approach 70 percent by 2050. Cities concentrate people, "
                        "assets and economic activity, and they depend on networks of energy, "
                        "water, transport and communications that extend far beyond their "
                        "boundaries. This concentration makes them both highly exposed to climate "
                        "hazards and well placed to pioneer solutions."
                    ),
                    (
                        "Urban risk is shaped not only by the hazard itself but by vulnerability "
                        "and exposure. Rapidly growing informal settlements, often located on "
                        "floodplains, steep slopes or reclaimed coastal land, house around one "
                        "billion people who typically lack drainage, secure tenure and access to "
                        "basic services. Within wealthier cities, too, risks fall unequally, "
                        "tracking income, age, health and housing quality."
                    ),
                    (
                        "Adaptation means adjusting systems and behaviour to reduce harm from "
                        "current and expected climate conditions, or to take advantage of "
                        "beneficial opportunities. In cities, it spans engineering works, changes "
                        "to building codes and land-use rules, ecosystem-based measures and social "
                        "programmes."
                    ),
                ],
            ),
            (
                "Managing urban heat",
                [
                    (
                        "Cities are often several degrees warmer than the surrounding countryside, "
                        "a phenomenon called the urban heat island. Dark roofs and pavements "
                        "absorb sunlight, buildings trap heat and block ventilation, and the "
                        "scarcity of vegetation limits evaporative cooling. Waste heat from "
                        "vehicles and air-conditioning adds to the effect, which is usually "
                        "strongest at night; differences of 3 to 5 °C between city centres and "
                        "rural surroundings are commonly reported, and larger contrasts occur on "
                        "calm, clear evenings."
                    ),
                    (
                        "A range of measures can reduce urban temperatures. Expanding tree canopy "
                        "and green space provides shade and evapotranspiration, and surfaces under "
                        "mature trees are often many degrees cooler than exposed asphalt. Cool "
                        "roofs and reflective pavements increase the albedo of built surfaces, "
                        "while green roofs and vegetated facades add insulation. Urban design that "
                        "preserves ventilation corridors allows cooler air to flow into dense "
                        "districts."
                    ),
                    (
                        "Complementing these physical measures, heat-health action plans (adopted "
                        "widely in Europe after the 2003 heatwave) combine forecasts, public "
                        "warnings, cooling centres and outreach to vulnerable residents. Ahmedabad "
                        "in India, which launched the first such plan in South Asia in 2013, has "
                        "reported marked reductions in heat-related mortality since its "
                        "introduction."
                    ),
                ],
            ),
            (
                "Water, flooding and coastal defence",
                [
                    (
                        "Heavier downpours overwhelm drainage networks designed for the climate of "
                        "past decades. Many cities are therefore turning to 'sponge city' and "
                        "blue-green infrastructure approaches that slow and store runoff close to "
                        "where it falls: permeable paving, rain gardens, bioswales, restored urban "
                        "streams and multifunctional parks that can flood safely during extreme "
                        "storms. China launched a national sponge-city programme in 2015, aiming "
                        "for 80 percent of urban areas to absorb and reuse at least 70 percent of "
                        "rainwater by 2030."
                    ),
                    (
                        "Coastal cities face the combined pressures of sea-level rise, storm surge "
                        "and land subsidence. Protective options range from hard defences, such as "
                        "sea walls, levees and storm-surge barriers, to nature-based solutions "
                        "like mangrove restoration, living shorelines and dune management. The "
                        "Thames Barrier, operational since 1982, protects central London from "
                        "tidal surges, and the long-term plan for the estuary illustrates adaptive "
                        "pathways: rather than fixing one solution, planners identify trigger "
                        "points at which further measures will be needed."
                    ),
                    (
                        "Where protection becomes unaffordable or technically impractical, "
                        "accommodation (raising buildings, flood-proofing ground floors) and "
                        "managed retreat from the most exposed areas may be necessary. These "
                        "choices are socially and politically difficult, and they tend to work "
                        "best when affected communities are involved early and compensation is "
                        "fair."
                    ),
                ],
            ),
            (
                "Resilient infrastructure systems",
                [
                    (
                        "Infrastructure assets such as bridges, power plants, rail lines and water "
                        "treatment works are built to last 50 to 100 years, so decisions made "
                        "today will operate in a substantially different climate. Design standards "
                        "based on historical return periods, for example a '1-in-100-year' flood, "
                        "can underestimate future hazards. Climate-resilient design updates these "
                        "standards using projections, adds safety margins, or allows components to "
                        "be upgraded incrementally."
                    ),
                    (
                        "Interdependence is a key source of vulnerability. A heatwave can raise "
                        "electricity demand for cooling while reducing the efficiency of power "
                        "lines and thermal plants; a power outage can then disable water pumping, "
                        "telecommunications and hospitals. Rail tracks can buckle in extreme heat, "
                        "and roads built on thawing permafrost may subside. Mapping these "
                        "cascading risks helps operators prioritise the nodes whose failure would "
                        "have the widest consequences."
                    ),
                    (
                        "Investment in resilience generally pays off. Economic analyses suggest "
                        "that the benefits of strengthening infrastructure and early-warning "
                        "systems exceed their costs by ratios of around 2:1 to 10:1, and one World "
                        "Bank study estimated that resilient infrastructure in low- and "
                        "middle-income countries yields roughly 4 US dollars of net benefit for "
                        "every dollar invested."
                    ),
                ],
            ),
            (
                "Early warning and emergency response",
                [
                    (
                        "Early-warning systems are among the most cost-effective adaptation "
                        "measures available. Forecasts of heat, floods and storms, translated into "
                        "clear warnings and linked to prepared responses, give residents and "
                        "operators time to act. Analyses cited by the Global Commission on "
                        "Adaptation suggest that just 24 hours' notice of a coming storm or "
                        "heatwave can cut the ensuing damage by about 30 percent, and the United "
                        "Nations has set the goal of covering everyone on Earth with early "
                        "warnings by 2027."
                    ),
                    (
                        "Emergency planning complements forecasting. Evacuation routes, shelters, "
                        "backup power for critical facilities and pre-arranged financing allow "
                        "cities to respond quickly and recover faster. Bangladesh, where cyclone "
                        "preparedness programmes combine trained volunteers, raised shelters and "
                        "community warnings, has reduced cyclone deaths dramatically since the "
                        "catastrophic storm of 1970, which killed an estimated 300,000 people or "
                        "more."
                    ),
                ],
            ),
            (
                "Planning, governance and the limits of adaptation",
                [
                    (
                        "Effective urban adaptation depends on governance as much as engineering. "
                        "Climate risk assessments, integrated into spatial planning and capital "
                        "budgeting, allow cities to avoid locking new development into hazardous "
                        "locations. Networks such as C40 Cities and the Global Covenant of Mayors "
                        "help municipal governments share data and practices, while national "
                        "governments set building codes, insurance frameworks and funding "
                        "mechanisms. Adaptation needs in developing countries are estimated at "
                        "roughly 200 to 400 billion US dollars per year this decade, many times "
                        "the international finance currently provided."
                    ),
                    (
                        "Adaptation also has limits. Soft limits arise when options exist but are "
                        "constrained by finance, institutions or knowledge; hard limits occur when "
                        "no adaptive action can prevent loss, as when rising seas permanently "
                        "submerge land. Poorly designed measures can cause maladaptation: a sea "
                        "wall may shift erosion to neighbouring coasts, and widespread "
                        "air-conditioning can raise both emissions and outdoor heat. Pairing "
                        "adaptation with mitigation and with equity goals, an approach often "
                        "called climate-resilient development, reduces these risks."
                    ),
                    (
                        "Monitoring and evaluation close the loop. Tracking indicators such as "
                        "heat-related hospital admissions, flood damage claims, green-space "
                        "coverage and the share of residents within reach of a cooling centre "
                        "shows whether measures are working. Because climate conditions will keep "
                        "shifting, urban adaptation is best understood as a continuous process of "
                        "learning and adjustment rather than a single project with a fixed end "
                        "date."
                    ),
                ],
            ),
        ],
        "references": [
            (
                "IPCC (2022). Climate Change 2022: Impacts, Adaptation and Vulnerability. "
                "Contribution of Working Group II to the Sixth Assessment Report. Cambridge "
                "University Press."
            ),
            (
                "Global Commission on Adaptation (2019). Adapt Now: A Global Call for Leadership "
                "on Climate Resilience. World Resources Institute."
            ),
            (
                "Hallegatte, S., Rentschler, J. and Rozenberg, J. (2019). Lifelines: The Resilient "
                "Infrastructure Opportunity. World Bank."
            ),
            (
                "UNEP (2023). Adaptation Gap Report 2023: Underfinanced. Underprepared. United "
                "Nations Environment Programme."
            ),
            (
                "Oke, T. R. (1982). The energetic basis of the urban heat island. Quarterly "
                "Journal of the Royal Meteorological Society, 108."
            ),
            (
                "Haasnoot, M. et al. (2013). Dynamic adaptive policy pathways: a method for "
                "crafting robust decisions for a deeply uncertain world. Global Environmental "
                "Change, 23."
            ),
        ],
    },
    {
        "id": "agriculture_forestry_land_use",
        "title": "Agriculture, Forestry and Other Land Use (AFOLU)",
        "author": "Climatune Demo Editorial Group",
        "sections": [
            (
                "Land as source and sink",
                [
                    (
                        "Land provides food, fibre, timber, fresh water and habitat, and it is "
                        "simultaneously a source and a sink of greenhouse gases. The sector known "
                        "as agriculture, forestry and other land use (AFOLU) accounts for roughly "
                        "22 percent of global greenhouse gas emissions, about 13 billion tonnes of "
                        "CO2-equivalent per year. When emissions from the wider food system, "
                        "including processing, transport, packaging and waste, are added, food "
                        "alone is associated with around one-third of global emissions."
                    ),
                    (
                        "Unlike energy, where emissions are dominated by CO2, land-based emissions "
                        "are a mixture of gases. Deforestation and peatland drainage release CO2; "
                        "ruminant livestock and rice paddies emit methane; and fertilised soils "
                        "produce nitrous oxide. At the same time, managed and unmanaged ecosystems "
                        "absorb large quantities of CO2, so the reported net land flux depends "
                        "strongly on how accounting boundaries are drawn."
                    ),
                    (
                        "Humans now use roughly 70 percent of the ice-free land surface in some "
                        "form, from intensive croplands to grazed rangelands and managed forests. "
                        "Competition for this finite area among food production, bioenergy, "
                        "conservation and settlement is a defining feature of the AFOLU challenge."
                    ),
                ],
            ),
            (
                "Emissions from farming",
                [
                    (
                        "Agricultural methane comes mainly from enteric fermentation in the "
                        "stomachs of cattle, sheep and goats, and from anaerobic decomposition in "
                        "flooded rice fields and manure stores. Livestock supply chains as a whole "
                        "are estimated to account for about 12 to 15 percent of anthropogenic "
                        "greenhouse gas emissions. Beef and lamb have the highest emissions per "
                        "kilogram of protein, often by an order of magnitude compared with plant "
                        "sources such as pulses."
                    ),
                    (
                        "Nitrous oxide, a gas roughly 270 times more potent than CO2 over a "
                        "100-year horizon, is released when soil microbes process nitrogen from "
                        "synthetic fertiliser, manure and crop residues. Global use of synthetic "
                        "nitrogen fertiliser has increased roughly tenfold since the early 1960s, "
                        "and a substantial share of it is never taken up by crops. Improving "
                        "nitrogen-use efficiency, through precise timing, placement and dosing, "
                        "cuts emissions while also reducing water pollution."
                    ),
                    (
                        "Agricultural soils can also gain or lose carbon depending on tillage, "
                        "crop rotations, residue management and the use of cover crops. Drained "
                        "organic soils, particularly tropical peatlands cleared for plantations, "
                        "are hotspots of CO2 emissions and are vulnerable to persistent "
                        "smouldering fires."
                    ),
                ],
            ),
            (
                "Forests and deforestation",
                [
                    (
                        "Forests cover about 4.1 billion hectares, or 31 percent of the world's "
                        "land area. The Global Forest Resources Assessment estimated that around "
                        "10 million hectares were deforested each year between 2015 and 2020, down "
                        "from about 16 million hectares per year in the 1990s, though part of the "
                        "loss was offset by forest expansion and regrowth elsewhere. Most "
                        "deforestation occurs in the tropics, where it is driven chiefly by "
                        "conversion to pasture and to commodity crops such as soy, oil palm and "
                        "cocoa."
                    ),
                    (
                        "Clearing and degrading forests releases the carbon stored in trees and "
                        "soils, and it often reduces rainfall recycling and local cooling. In the "
                        "Amazon, research suggests that combined deforestation and warming could "
                        "push parts of the basin toward a tipping point where rainforest gives way "
                        "to drier, lower-carbon vegetation. Boreal forests face different "
                        "pressures, including larger and more frequent wildfires and insect "
                        "outbreaks linked to warmer conditions."
                    ),
                    (
                        "Forest management also influences the carbon balance outside the tropics. "
                        "Harvested wood products store carbon for years to decades, and "
                        "sustainably managed forests can supply timber that substitutes for "
                        "emissions-intensive materials such as concrete and steel. However, "
                        "intensifying harvests reduces the standing carbon stock, so the net "
                        "benefit depends on rotation length, product lifetimes and what the wood "
                        "displaces."
                    ),
                ],
            ),
            (
                "Mitigation options on land",
                [
                    (
                        "Land-based mitigation has considerable potential. Assessments estimate "
                        "that AFOLU measures could deliver roughly 8 to 14 billion tonnes of "
                        "CO2-equivalent per year of emission reductions and removals between 2020 "
                        "and 2050 at costs below 100 US dollars per tonne. The largest "
                        "contributions come from protecting and restoring forests and other "
                        "ecosystems, followed by improved agricultural management and shifts in "
                        "diets."
                    ),
                    (
                        "Reducing deforestation is the single most effective option, because it "
                        "avoids immediate large releases of carbon and protects biodiversity. "
                        "Reforestation and afforestation can sequester carbon for decades, though "
                        "they require careful site selection to avoid displacing food production "
                        "or planting trees in naturally open ecosystems such as savannas. "
                        "Agroforestry, which integrates trees with crops or livestock, can raise "
                        "soil carbon, diversify farm incomes and improve resilience to drought."
                    ),
                    (
                        "On the demand side, shifting toward diets with more plant-based protein "
                        "and reducing the roughly one-third of food that is lost or wasted would "
                        "free up land and lower emissions. Programmes such as REDD+ (reducing "
                        "emissions from deforestation and forest degradation) under the UNFCCC "
                        "provide results-based payments to countries that demonstrate reduced "
                        "forest loss, although verifying permanence and avoiding leakage remain "
                        "persistent challenges."
                    ),
                ],
            ),
            (
                "Bioenergy and competition for land",
                [
                    (
                        "Bioenergy crops and forest residues can replace fossil fuels in power, "
                        "heat and transport, and when combined with carbon capture they can, in "
                        "principle, remove CO2 from the atmosphere. Large-scale deployment, "
                        "however, would require substantial land area. Some mitigation scenarios "
                        "envisage dedicated energy plantations covering several million square "
                        "kilometres by the end of the century, an area comparable to a "
                        "considerable share of today's cropland, raising concerns about food "
                        "prices, water use and biodiversity."
                    ),
                    (
                        "The sustainability of bioenergy therefore depends heavily on feedstock "
                        "and location. Residues, wastes and crops grown on degraded or marginal "
                        "land carry fewer risks than plantations that displace food production or "
                        "natural ecosystems, and careful lifecycle accounting is needed to ensure "
                        "that claimed emission savings are genuine."
                    ),
                ],
            ),
            (
                "Climate impacts on food systems",
                [
                    (
                        "Climate change already affects agriculture. Warming has slowed the growth "
                        "of global agricultural productivity, with one estimate suggesting that "
                        "total factor productivity is about 21 percent lower than it would have "
                        "been without climate change since 1961. Heat stress during flowering can "
                        "sharply reduce yields of maize, wheat and rice, and each degree Celsius "
                        "of warming is associated with average global yield losses of several "
                        "percent for major cereals."
                    ),
                    (
                        "Impacts are uneven. Low-latitude regions, where crops already grow near "
                        "their thermal limits, face the greatest risks, while some high-latitude "
                        "areas may gain longer growing seasons. Livestock suffer from heat stress, "
                        "fisheries are affected by ocean warming and acidification, and extreme "
                        "events can disrupt supply chains and trigger price spikes. Adaptation "
                        "options include heat- and drought-tolerant varieties, altered planting "
                        "dates, more efficient irrigation, crop diversification and better weather "
                        "information services for farmers."
                    ),
                    (
                        "Because land is both a victim of climate change and a lever for "
                        "addressing it, integrated policies matter. Measures that simultaneously "
                        "boost productivity, store carbon and support rural livelihoods, sometimes "
                        "described as climate-smart agriculture, offer the most durable gains, "
                        "especially when they secure land rights for smallholders and for the "
                        "Indigenous peoples who manage large areas of the world's forests."
                    ),
                ],
            ),
        ],
        "references": [
            (
                "IPCC (2019). Climate Change and Land: an IPCC Special Report on climate change, "
                "desertification, land degradation, sustainable land management, food security, "
                "and greenhouse gas fluxes in terrestrial ecosystems."
            ),
            (
                "FAO (2020). Global Forest Resources Assessment 2020: Main Report. Food and "
                "Agriculture Organization of the United Nations."
            ),
            (
                "Crippa, M. et al. (2021). Food systems are responsible for a third of global "
                "anthropogenic GHG emissions. Nature Food, 2."
            ),
            (
                "Poore, J. and Nemecek, T. (2018). Reducing food's environmental impacts through "
                "producers and consumers. Science, 360."
            ),
            (
                "Ortiz-Bobea, A. et al. (2021). Anthropogenic climate change has slowed global "
                "agricultural productivity growth. Nature Climate Change, 11."
            ),
            (
                "Zhao, C. et al. (2017). Temperature increase reduces global yields of major crops "
                "in four independent estimates. Proceedings of the National Academy of Sciences, "
                "114(35)."
            ),
        ],
    },
    {
        "id": "climate_finance_international_agreements",
        "title": "Climate Finance and International Agreements",
        "author": "Climatune Demo Editorial Group",
        "sections": [
            (
                "The UNFCCC framework",
                [
                    (
                        "The United Nations Framework Convention on Climate Change (UNFCCC) was "
                        "adopted in 1992 and opened for signature at the Earth Summit in Rio de "
                        "Janeiro. It entered into force in 1994 and now has 198 Parties, giving it "
                        "near-universal membership. Its ultimate objective, set out in Article 2, "
                        "is to keep atmospheric greenhouse gas concentrations below a level at "
                        "which human activity would interfere dangerously with the climate system."
                    ),
                    (
                        "The Convention established key principles, notably that Parties should "
                        "act on the basis of equity and in line with their 'common but "
                        "differentiated responsibilities and respective capabilities'. It grouped "
                        "countries into Annex I (industrialised countries and economies in "
                        "transition) and non-Annex I (mostly developing countries), with a "
                        "wealthier Annex II subset expected to provide financial and technological "
                        "support. The annual Conference of the Parties (COP) is the Convention's "
                        "supreme decision-making body; the first was held in Berlin in 1995."
                    ),
                    (
                        "Decisions under the UNFCCC are taken by consensus, which ensures broad "
                        "ownership but can make negotiations slow. Subsidiary bodies for "
                        "scientific and technological advice and for implementation meet twice a "
                        "year to prepare technical work."
                    ),
                ],
            ),
            (
                "From Kyoto to Paris",
                [
                    (
                        "The Kyoto Protocol, adopted in 1997 and in force from 2005, set legally "
                        "binding emission targets for industrialised countries, requiring an "
                        "average reduction of about 5 percent below 1990 levels over the period "
                        "2008–2012. It introduced market mechanisms, including international "
                        "emissions trading and the Clean Development Mechanism, which allowed "
                        "investments in emission reductions in developing countries to generate "
                        "tradable credits. However, the United States never ratified the Protocol, "
                        "and major emerging economies had no binding obligations."
                    ),
                    (
                        "The limitations of this top-down model became evident at the 2009 "
                        "Copenhagen conference, which failed to agree a comprehensive successor "
                        "but produced a political accord recognising the goal of keeping warming "
                        "below 2 °C. Developed countries there pledged to mobilise 100 billion US "
                        "dollars per year in climate finance for developing countries by 2020. The "
                        "experience prompted a shift toward a bottom-up architecture in which "
                        "every country would set its own contributions."
                    ),
                    (
                        "The Kyoto era nonetheless left important legacies: systems for measuring, "
                        "reporting and verifying emissions, a working infrastructure for "
                        "international carbon markets, and practical experience that informed "
                        "later designs. The European Union Emissions Trading System, launched in "
                        "2005, grew partly out of this period and remains one of the world's "
                        "largest compliance carbon markets."
                    ),
                ],
            ),
            (
                "How the Paris Agreement works",
                [
                    (
                        "The Paris Agreement was adopted at COP21 in December 2015 and entered "
                        "into force on 4 November 2016, unusually quickly for a multilateral "
                        "treaty. It commits Parties to holding the rise in global average "
                        "temperature well below 2 °C above preindustrial levels while striving to "
                        "limit it to 1.5 °C. It also sets goals on strengthening adaptive capacity "
                        "and on making finance flows consistent with low-emission, "
                        "climate-resilient development."
                    ),
                    (
                        "At the heart of the Agreement are nationally determined contributions "
                        "(NDCs): plans in which each Party describes its emission targets and "
                        "supporting policies. NDCs are submitted every five years, and each "
                        "successive one is expected to represent a progression beyond the previous "
                        "one. Long-term low-emission development strategies complement them, and "
                        "many countries have now announced net-zero targets that together cover "
                        "the majority of global emissions."
                    ),
                    (
                        "An enhanced transparency framework requires Parties to report regularly "
                        "on emissions and progress, with reports subject to technical expert "
                        "review. Every five years a global stocktake assesses collective progress; "
                        "the first concluded at COP28 in Dubai in 2023, calling for a transition "
                        "away from fossil fuels in energy systems and a tripling of global "
                        "renewable capacity by 2030. Article 6 provides rules for international "
                        "cooperation, including carbon markets."
                    ),
                ],
            ),
            (
                "Science, stakeholders and accountability",
                [
                    (
                        "Scientific assessment underpins the negotiations. The Intergovernmental "
                        "Panel on Climate Change (IPCC), established in 1988 by the World "
                        "Meteorological Organization and the United Nations Environment Programme, "
                        "reviews the published literature in regular assessment cycles. Its Sixth "
                        "Assessment Report, completed in 2023, fed directly into the first global "
                        "stocktake."
                    ),
                    (
                        "Beyond the formal process, a wide range of actors shape implementation: "
                        "cities, regions, companies, investors and civil society groups. "
                        "Initiatives such as the Glasgow Financial Alliance for Net Zero and "
                        "science-based corporate targets have expanded rapidly, though concerns "
                        "about credibility and greenwashing have prompted calls for clearer "
                        "standards and independent verification."
                    ),
                ],
            ),
            (
                "Climate finance flows",
                [
                    (
                        "Climate finance covers money from public and private sources that pays "
                        "for emission reductions, adaptation or resilience. Tracking it is "
                        "complicated, because definitions differ and a single project may deliver "
                        "both climate and development benefits. Total global climate finance flows "
                        "were estimated at around 1.3 trillion US dollars per year in 2021–2022, "
                        "with the majority directed toward mitigation in energy and transport and "
                        "concentrated in East Asia, North America and Europe."
                    ),
                    (
                        "International public finance moves through several channels: bilateral "
                        "development agencies, multilateral development banks, and dedicated funds "
                        "such as the Green Climate Fund, the Global Environment Facility and the "
                        "Adaptation Fund. According to the OECD, developed countries provided and "
                        "mobilised about 115.9 billion US dollars in 2022, the first year in which "
                        "the 100 billion goal was clearly met. Critics note that much of this is "
                        "delivered as loans rather than grants, adding to the debt burden of "
                        "recipient countries."
                    ),
                    (
                        "Adaptation finance remains the weakest link. Estimates of adaptation "
                        "needs in developing countries run into the hundreds of billions of "
                        "dollars annually, many times the flows currently reported. At COP29 in "
                        "Baku in 2024, Parties agreed a new collective quantified goal under which "
                        "developed countries would take the lead in providing at least 300 billion "
                        "US dollars per year by 2035, within a broader aspiration to scale up "
                        "finance from all sources to 1.3 trillion dollars per year."
                    ),
                ],
            ),
            (
                "Loss and damage and the road ahead",
                [
                    (
                        "Loss and damage describes the harms from climate change that cannot be "
                        "avoided through mitigation or adaptation, from destroyed homes after a "
                        "cyclone to the slow loss of territory to rising seas. After decades of "
                        "advocacy by small island and least developed countries, the Warsaw "
                        "International Mechanism was set up in 2013, and at COP27 in Sharm "
                        "el-Sheikh in 2022 Parties agreed to establish a dedicated fund. The fund "
                        "was operationalised at COP28, with initial pledges of several hundred "
                        "million dollars."
                    ),
                    (
                        "The gap between ambition and action remains wide. Assessments of current "
                        "NDCs indicate that full implementation would still lead to warming of "
                        "roughly 2.5 to 2.9 °C this century, well above the Paris goals. Closing "
                        "that gap will require stronger national targets, effective domestic "
                        "policies such as carbon pricing and regulation, reform of multilateral "
                        "development banks to expand their lending capacity, and mechanisms that "
                        "align private capital with climate objectives."
                    ),
                    (
                        "Carbon pricing has expanded steadily: emissions trading systems and "
                        "carbon taxes now cover roughly a quarter of global greenhouse gas "
                        "emissions, although prices in many schemes remain below levels consistent "
                        "with the Paris goals. Trade measures such as the European Union's Carbon "
                        "Border Adjustment Mechanism illustrate how climate policy increasingly "
                        "intersects with economic diplomacy."
                    ),
                ],
            ),
        ],
        "references": [
            (
                "United Nations (1992). United Nations Framework Convention on Climate Change. "
                "United Nations."
            ),
            (
                "United Nations (1997). Kyoto Protocol to the United Nations Framework Convention "
                "on Climate Change. United Nations."
            ),
            "United Nations (2015). Paris Agreement. UNFCCC Decision 1/CP.21.",
            (
                "OECD (2024). Climate Finance Provided and Mobilised by Developed Countries in "
                "2013–2022. OECD Publishing."
            ),
            (
                "Climate Policy Initiative (2023). Global Landscape of Climate Finance 2023. "
                "Climate Policy Initiative."
            ),
            (
                "UNEP (2023). Emissions Gap Report 2023: Broken Record. United Nations Environment "
                "Programme."
            ),
        ],
    },
]
