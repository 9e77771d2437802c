// SPDX-License-Identifier: Apache-2.0
// The NEURAL core: host interface, on-chip stores, layer sequencer, conv engine and classifier.

`default_nettype none

module neural_top #(
  parameter int Lanes        = 8,     // output channels per engine group, a multiple of 4
  parameter int MaxC         = 128,   // channels per spike word, 24 .. 512, multiple of Lanes
  parameter int MaxSideLog2  = 5,     // largest map side is 1 << MaxSideLog2 (32)
  parameter int AccW         = 24,    // signed conv accumulator bits (>= package acc_bits)
  parameter int WRows        = 8192,  // weight store rows (all layers), engine row layout
  parameter int EngWRows     = 2048,  // weight rows of the largest single layer
  parameter int ThRows       = 256,   // threshold store rows (Lanes thresholds each)
  parameter int Slots        = 4,     // spike-map slots; slot 0 also takes the image
  parameter int ProgOps      = 32,    // layer program entries
  parameter int Classes      = 10,    // classifier outputs
  parameter int ClsHwLog2    = 2,     // largest last-map side (log2) the classifier takes
  parameter int ClsAccW      = 24,    // signed logit bits
  parameter int FifoDepth    = 4,     // partial-sum elastic FIFO entries
  parameter int ExtMem       = 1,     // 1: ops may read their weights over the AXI4 port
  parameter int ExtDataW     = 64,    // AXI4 read data bits; a weight row is whole beats
  localparam int MaxSide  = 1 << MaxSideLog2,
  localparam int SlotW    = 2 * MaxSideLog2,
  localparam int SelW     = $clog2(Slots),
  localparam int MapAW    = SelW + SlotW,
  localparam int RowW     = 9 * Lanes * 8,
  localparam int RowWords = RowW / 32,
  localparam int LW       = Lanes * AccW,
  localparam int WAW      = $clog2(WRows),
  localparam int ThAW     = $clog2(ThRows),
  localparam int ProgAW   = $clog2(ProgOps * 4),
  localparam int ClsRowW  = Classes * 8,
  localparam int ClsRowWords = (ClsRowW + 31) / 32,
  localparam int ClsPosW  = (ClsHwLog2 > 0) ? 2 * ClsHwLog2 : 1,
  localparam int ClsAW    = (MaxC > 1) ? $clog2(MaxC) : 1,
  localparam int ClsW     = $clog2(Classes),
  localparam int AtChW    = $clog2(MaxC + 1),  // bits of a token-attention head sum
  localparam int AtThW    = (AtChW > SlotW + 1) ? AtChW : SlotW + 1,  // attention threshold bits
  localparam int ExtBeats = RowW / ExtDataW,  // AXI beats per weight row
  localparam int ExtBytes = ExtDataW / 8,
  // Beats of a full burst: at most 256, and never across a 4 KiB boundary
  localparam int ExtBurst = (4096 / ExtBytes > 256) ? 256 : 4096 / ExtBytes
) (
  input  wire logic        clk_i,
  input  wire logic        rst_i,  // synchronous, active high
  // AXI4-Lite control and status
  input  wire logic [11:0] s_axil_awaddr,
  input  wire logic [2:0]  s_axil_awprot,
  input  wire logic        s_axil_awvalid,
  output logic             s_axil_awready,
  input  wire logic [31:0] s_axil_wdata,
  input  wire logic [3:0]  s_axil_wstrb,
  input  wire logic        s_axil_wvalid,
  output logic             s_axil_wready,
  output logic      [1:0]  s_axil_bresp,
  output logic             s_axil_bvalid,
  input  wire logic        s_axil_bready,
  input  wire logic [11:0] s_axil_araddr,
  input  wire logic [2:0]  s_axil_arprot,
  input  wire logic        s_axil_arvalid,
  output logic             s_axil_arready,
  output logic      [31:0] s_axil_rdata,
  output logic      [1:0]  s_axil_rresp,
  output logic             s_axil_rvalid,
  input  wire logic        s_axil_rready,
  // AXI4-Stream in: program, weights, thresholds, images
  input  wire logic [31:0] s_axis_tdata,
  input  wire logic        s_axis_tvalid,
  output logic             s_axis_tready,
  input  wire logic        s_axis_tlast,
  // AXI4-Stream out: class, then one logit per class
  output logic      [31:0] m_axis_tdata,
  output logic             m_axis_tvalid,
  input  wire logic        m_axis_tready,
  output logic             m_axis_tlast,
  // AXI4 read-only master: weights of ops kept in external memory (EXT_BASE + 4 KiB x row field)
  output logic [0:0]          m_axi_arid,    // always 0: one stream of bursts, in order
  output logic [31:0]         m_axi_araddr,
  output logic [7:0]          m_axi_arlen,
  output logic [2:0]          m_axi_arsize,
  output logic [1:0]          m_axi_arburst,
  output logic [3:0]          m_axi_arcache,
  output logic [2:0]          m_axi_arprot,
  output logic                m_axi_arvalid,
  input  wire logic           m_axi_arready,
  input  wire logic [0:0]     m_axi_rid,
  input  wire logic [ExtDataW-1:0] m_axi_rdata,
  input  wire logic [1:0]     m_axi_rresp,
  input  wire logic           m_axi_rlast,
  input  wire logic           m_axi_rvalid,
  output logic                m_axi_rready,
  // Status
  output logic             busy_o,
  output logic             done_o,
  output logic             error_o,
  output logic             irq_o
);

  // Unsigned copies of the parameters keep comparisons free of sign conversions.
  localparam logic [31:0] LanesU    = Lanes;
  localparam logic [31:0] RowWordsU = RowWords;
  localparam logic [31:0] ClsWordsU = ClsRowWords;
  localparam logic [31:0] WRowsU    = WRows;
  localparam logic [31:0] EngWRowsU = EngWRows;
  localparam logic [31:0] ThRowsU   = ThRows;
  localparam logic [31:0] MaxCU     = MaxC;
  localparam logic [31:0] MaxSideU  = MaxSide;
  localparam logic [31:0] ImgWordsU = MaxSide * MaxSide;
  localparam logic [31:0] ProgWdsU  = ProgOps * 4;
  localparam logic [31:0] ClassesU  = Classes;
  localparam logic [31:0] SlotsU    = Slots;
  localparam logic [31:0] ClsHwU    = ClsHwLog2;

  localparam logic [7:0] KProgram = 8'd1;
  localparam logic [7:0] KWeights = 8'd2;
  localparam logic [7:0] KThresh  = 8'd3;
  localparam logic [7:0] KImage   = 8'd4;
  localparam logic [7:0] KClsW    = 8'd5;
  localparam logic [7:0] KClsBias = 8'd6;

  localparam logic [3:0] ErrDesc  = 4'd5;
  localparam logic [3:0] ErrBusy  = 4'd6;
  localparam logic [3:0] ErrNoPrg = 4'd7;
  localparam logic [3:0] ErrRange = 4'd8;
  localparam logic [3:0] ErrExt   = 4'd9;

  // -----------------------------------------------------------------------------------------
  // Registers and packet parser
  // -----------------------------------------------------------------------------------------
  logic        csr_start, csr_clear, irq_en;
  logic [31:12] ext_base;
  logic        busy_q, done_q, err_q;
  logic [3:0]  err_code_q;
  logic [31:0] perf_cycles_q, perf_events_q, perf_active_q, perf_stalls_q, perf_fwd_q, class_q;

  neural_csr #(
    .Caps(Lanes | (($clog2(MaxC)) << 8) | (MaxSideLog2 << 12) | ((ExtMem != 0 ? 1 : 0) << 16))
  ) u_csr (
    .clk_i         (clk_i),
    .rst_i         (rst_i),
    .s_axil_awaddr (s_axil_awaddr),
    .s_axil_awprot (s_axil_awprot),
    .s_axil_awvalid(s_axil_awvalid),
    .s_axil_awready(s_axil_awready),
    .s_axil_wdata  (s_axil_wdata),
    .s_axil_wstrb  (s_axil_wstrb),
    .s_axil_wvalid (s_axil_wvalid),
    .s_axil_wready (s_axil_wready),
    .s_axil_bresp  (s_axil_bresp),
    .s_axil_bvalid (s_axil_bvalid),
    .s_axil_bready (s_axil_bready),
    .s_axil_araddr (s_axil_araddr),
    .s_axil_arprot (s_axil_arprot),
    .s_axil_arvalid(s_axil_arvalid),
    .s_axil_arready(s_axil_arready),
    .s_axil_rdata  (s_axil_rdata),
    .s_axil_rresp  (s_axil_rresp),
    .s_axil_rvalid (s_axil_rvalid),
    .s_axil_rready (s_axil_rready),
    .start_o       (csr_start),
    .clear_o       (csr_clear),
    .irq_en_o      (irq_en),
    .ext_base_o    (ext_base),
    .busy_i        (busy_q),
    .done_i        (done_q),
    .error_i       (err_q),
    .err_code_i    (err_code_q),
    .cycles_i      (perf_cycles_q),
    .events_i      (perf_events_q),
    .active_i      (perf_active_q),
    .stalls_i      (perf_stalls_q),
    .class_i       (class_q),
    .fwd_i         (perf_fwd_q)
  );

  logic        pl_valid, pkt_done, pkt_ok;
  logic [7:0]  pl_kind;
  logic [15:0] pl_target;
  logic [31:0] pl_len, pl_index, pl_data;
  logic [3:0]  pkt_err;

  neural_pkt_rx u_rx (
    .clk_i        (clk_i),
    .rst_i        (rst_i),
    .block_i      (busy_q),
    .s_axis_tdata (s_axis_tdata),
    .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready),
    .s_axis_tlast (s_axis_tlast),
    .pl_valid_o   (pl_valid),
    .pl_kind_o    (pl_kind),
    .pl_target_o  (pl_target),
    .pl_len_o     (pl_len),
    .pl_index_o   (pl_index),
    .pl_data_o    (pl_data),
    .pkt_done_o   (pkt_done),
    .pkt_ok_o     (pkt_ok),
    .pkt_err_o    (pkt_err)
  );

  // -----------------------------------------------------------------------------------------
  // Store writers: payload words are assembled into rows of each store's width
  // -----------------------------------------------------------------------------------------
  logic [RowW-1:0]    wrow_acc_q;
  logic [LW-1:0]      throw_acc_q;
  logic [ClsRowW-1:0] clsrow_acc_q;
  logic [31:0]        sub_q, row_q;  // word within the row, row within the packet
  logic               range_bad_q;   // a payload word fell outside its store

  logic [31:0] words_per_row;
  always_comb begin
    case (pl_kind)
      KWeights: words_per_row = RowWordsU;
      KThresh:  words_per_row = LanesU;
      KClsW:    words_per_row = ClsWordsU;
      default:  words_per_row = 32'd1;
    endcase
  end

  logic row_end, first_word;
  assign first_word = pl_valid & (pl_index == '0);
  assign row_end = pl_valid & ((first_word ? 32'd0 : sub_q) == words_per_row - 32'd1);

  logic [31:0] cur_sub, cur_row;
  assign cur_sub = first_word ? 32'd0 : sub_q;
  assign cur_row = first_word ? 32'd0 : row_q;

  logic [31:0] dest_row;  // store row written at row_end
  assign dest_row = 32'(pl_target) + cur_row;

  logic [RowW-1:0]    wrow_next;
  logic [LW-1:0]      throw_next;
  logic [ClsRowW-1:0] clsrow_next;
  always_comb begin
    wrow_next = wrow_acc_q;
    throw_next = throw_acc_q;
    clsrow_next = clsrow_acc_q;
    for (int i = 0; i < RowWords; i++) begin
      if (cur_sub == $unsigned(i)) wrow_next[i*32 +: 32] = pl_data;
    end
    for (int i = 0; i < Lanes; i++) begin
      if (cur_sub == $unsigned(i)) throw_next[i*AccW +: AccW] = pl_data[AccW-1:0];
    end
    for (int i = 0; i < ClsRowWords; i++) begin
      if (cur_sub == $unsigned(i)) begin
        for (int b = 0; b < 32; b++) begin
          if (i * 32 + b < ClsRowW) clsrow_next[i*32 + b] = pl_data[b];
        end
      end
    end
  end

  logic w_we, th_we, clsw_we, bias_we, img_we, prog_we;
  logic w_in_range, th_in_range, cls_in_range, img_in_range, prog_in_range;
  assign w_in_range    = dest_row < WRowsU;
  assign th_in_range   = dest_row < ThRowsU;
  assign cls_in_range  = dest_row < MaxCU;
  assign img_in_range  = pl_index < ImgWordsU;
  assign prog_in_range = pl_index < ProgWdsU;
  assign w_we    = row_end & (pl_kind == KWeights) & w_in_range;
  assign th_we   = row_end & (pl_kind == KThresh) & th_in_range;
  assign clsw_we = row_end & (pl_kind == KClsW) & cls_in_range;
  assign bias_we = pl_valid & (pl_kind == KClsBias) & (pl_index < ClassesU);
  assign img_we  = pl_valid & (pl_kind == KImage) & img_in_range;
  assign prog_we = pl_valid & (pl_kind == KProgram) & prog_in_range;

  logic out_of_range;
  always_comb begin
    out_of_range = 1'b0;
    if (pl_valid) begin
      case (pl_kind)
        KWeights: out_of_range = row_end & ~w_in_range;
        KThresh:  out_of_range = row_end & ~th_in_range;
        KClsW:    out_of_range = row_end & ~cls_in_range;
        KClsBias: out_of_range = pl_index >= ClassesU;
        KImage:   out_of_range = ~img_in_range;
        KProgram: out_of_range = ~prog_in_range;
        default:  out_of_range = 1'b0;
      endcase
    end
  end

  always_ff @(posedge clk_i) begin
    if (pl_valid) begin
      wrow_acc_q   <= wrow_next;
      throw_acc_q  <= throw_next;
      clsrow_acc_q <= clsrow_next;
      sub_q <= row_end ? 32'd0 : cur_sub + 32'd1;
      row_q <= row_end ? cur_row + 32'd1 : cur_row;
    end
  end

  // A packet that ends part-way through a row, or writes outside its store, is an error.
  logic pkt_range_err;
  assign pkt_range_err = range_bad_q | (sub_q != 32'd0);

  always_ff @(posedge clk_i) begin
    if (rst_i || pkt_done) begin
      range_bad_q <= 1'b0;
    end else if (out_of_range) begin
      range_bad_q <= 1'b1;
    end
  end

  logic prog_ok_q, image_ok_q;
  logic [$clog2(ProgOps + 1)-1:0] prog_len_q;

  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      prog_ok_q  <= 1'b0;
      image_ok_q <= 1'b0;
      prog_len_q <= '0;
    end else begin
      if (first_word && pl_kind == KProgram) prog_ok_q <= 1'b0;
      if (first_word && pl_kind == KImage) image_ok_q <= 1'b0;
      // An inference overwrites the image slot, so each image runs once.
      if (csr_start && !busy_q && prog_ok_q && image_ok_q) image_ok_q <= 1'b0;
      if (pkt_done && pkt_ok && !pkt_range_err) begin
        if (pl_kind == KProgram && pl_len[1:0] == 2'b00) begin
          prog_ok_q  <= 1'b1;
          prog_len_q <= ($clog2(ProgOps + 1))'(pl_len >> 2);
        end
        if (pl_kind == KImage) image_ok_q <= 1'b1;
      end
    end
  end

  // -----------------------------------------------------------------------------------------
  // Stores
  // -----------------------------------------------------------------------------------------
  logic [31:0]     prog_rdata;
  logic            prog_re;
  logic [ProgAW-1:0] prog_raddr;

  conv_sdp_ram #(.Width(32), .Depth(ProgOps * 4)) u_prog (
    .clk_i  (clk_i),
    .we_i   (prog_we),
    .waddr_i(ProgAW'(pl_index)),
    .wdata_i(pl_data),
    .re_i   (prog_re),
    .raddr_i(prog_raddr),
    .rdata_o(prog_rdata)
  );

  logic            wst_re;
  logic [WAW-1:0]  wst_raddr;
  logic [RowW-1:0] wst_rdata;

  conv_sdp_ram #(.Width(RowW), .Depth(WRows)) u_wstore (
    .clk_i  (clk_i),
    .we_i   (w_we),
    .waddr_i(WAW'(dest_row)),
    .wdata_i(wrow_next),
    .re_i   (wst_re),
    .raddr_i(wst_raddr),
    .rdata_o(wst_rdata)
  );

  logic            th_re;
  logic [ThAW-1:0] th_raddr;
  logic [LW-1:0]   th_rdata;

  conv_sdp_ram #(.Width(LW), .Depth(ThRows)) u_thstore (
    .clk_i  (clk_i),
    .we_i   (th_we),
    .waddr_i(ThAW'(dest_row)),
    .wdata_i(throw_next),
    .re_i   (th_re),
    .raddr_i(th_raddr),
    .rdata_o(th_rdata)
  );

  // Spike maps: slot s, position p at address {s, p}; the image lands in slot 0.
  logic             map_we_seq, map_re;
  logic [MapAW-1:0] map_waddr_seq, map_raddr;
  logic [MaxC-1:0]  map_wdata_seq, map_rdata;
  logic             map_we;
  logic [MapAW-1:0] map_waddr;
  logic [MaxC-1:0]  map_wdata;

  assign map_we    = img_we | map_we_seq;
  assign map_waddr = img_we ? MapAW'(pl_index) : map_waddr_seq;
  assign map_wdata = img_we ? MaxC'(pl_data[23:0]) : map_wdata_seq;

  conv_sdp_ram #(.Width(MaxC), .Depth(Slots << SlotW)) u_maps (
    .clk_i  (clk_i),
    .we_i   (map_we),
    .waddr_i(map_waddr),
    .wdata_i(map_wdata),
    .re_i   (map_re),
    .raddr_i(map_raddr),
    .rdata_o(map_rdata)
  );

  // -----------------------------------------------------------------------------------------
  // Layer sequencer
  // -----------------------------------------------------------------------------------------
  typedef enum logic [3:0] {
    SIdle,
    SFetch,
    SDecode,
    SCfg,
    SLoadIn,
    SLoadW,
    SLoadTh,
    SLoadRes,
    SStart,
    SRun,
    SClsIn,
    SClsOut,
    SAttn,
    SExtSet
  } state_e;

  state_e state_q;
  logic [$clog2(ProgOps + 1)-1:0] pc_q;
  logic [2:0]  fetch_q;         // program words requested for this op
  logic [2:0]  got_q;           // program words received
  logic [31:0] op_q [4];

  // Conv op fields (see docs/architecture.md, "Layer program")
  logic [9:0]  op_cin, op_cout;
  logic [5:0]  op_h, op_w;
  logic        op_s2, op_pool, op_res, op_pix, op_dst_en, op_cls;
  logic [1:0]  op_src, op_dst, op_rsl, op_attn;
  logic        op_amode, op_ext;
  logic [3:0]  op_heads;
  logic [15:0] op_wbase, op_wrows, op_thbase, op_theta;
  logic [2:0]  op_hwl;
  logic [1:0]  op_wsl;
  logic [39:0] op_desc;

  assign op_cin    = op_q[0][9:0];
  assign op_cout   = op_q[0][19:10];
  assign op_h      = op_q[0][25:20];
  assign op_w      = op_q[0][31:26];
  assign op_s2     = op_q[1][1];
  assign op_pool   = op_q[1][2];
  assign op_res    = op_q[1][3];
  assign op_pix    = op_q[1][4];
  assign op_src    = op_q[1][9:8];
  assign op_dst    = op_q[1][11:10];
  assign op_rsl    = op_q[1][13:12];
  assign op_dst_en = op_q[1][14];
  assign op_attn   = op_q[1][17:16];
  assign op_amode  = op_q[1][18];
  assign op_ext    = op_q[1][15];
  assign op_heads  = op_q[1][23:20];
  assign op_cls    = op_q[1][31];
  assign op_hwl    = op_q[1][22:20];
  assign op_wsl    = op_q[1][25:24];
  assign op_wbase  = op_q[2][15:0];
  assign op_wrows  = op_q[2][31:16];
  assign op_thbase = op_q[3][15:0];
  assign op_theta  = op_q[3][31:16];
  assign op_desc   = {3'd0, op_q[1][4:0], op_q[0]};

  logic [5:0]  out_h, out_w, res_h, res_w;
  logic [10:0] groups;
  assign out_h  = op_s2 ? ((op_h + 6'd1) >> 1) : op_h;
  assign out_w  = op_s2 ? ((op_w + 6'd1) >> 1) : op_w;
  assign res_h  = op_pool ? (out_h >> 1) : out_h;
  assign res_w  = op_pool ? (out_w >> 1) : out_w;
  assign groups = 11'((32'(op_cout) + LanesU - 32'd1) >> $clog2(Lanes));

  // Attention: a Q op (attn 1) builds masks from its output words, which it need not store; the
  // K op (attn 2) that follows writes its words masked. The Q op's settings are kept until its
  // K op ends, since the K op's own words are overwritten when it is fetched.
  localparam logic [1:0] AttnQ = 2'd1, AttnK = 2'd2;
  logic             at_mode_q;   // 0: token, 1: channel attention
  logic [3:0]       at_heads_q;
  logic [AtChW-1:0] at_group_q;  // channels per head = cout / heads, by repeated addition
  logic [10:0]      at_acc_q;    // heads x group so far
  logic [AtThW-1:0] at_theta_q;
  logic [9:0]       at_cout_q;
  logic [5:0]       at_h_q, at_w_q;
  logic             at_qdone_q;  // a Q map's masks wait for their K map

  // Fields the core cannot run are refused before anything moves. The compiler keeps weight
  // rows equal to groups x cin; a different count cannot hang the engine, only miscompute.
  logic op_bad;
  always_comb begin
    op_bad = 1'b0;
    if (op_cls) begin
      if (32'(op_src) >= SlotsU || 32'(op_hwl) > ClsHwU || {1'b0, op_wsl} > op_hwl
          || 32'(op_cout) > MaxCU || op_h == '0 || op_w == '0) op_bad = 1'b1;
    end else begin
      if (op_cin == '0 || op_cout == '0 || 32'(op_cout) > MaxCU) op_bad = 1'b1;
      if (op_pix ? ({19'd0, op_cin, 3'd0} > MaxCU) : (32'(op_cin) > MaxCU)) op_bad = 1'b1;
      if (op_h < 6'd2 || op_w < 6'd2 || 32'(op_h) > MaxSideU || 32'(op_w) > MaxSideU)
        op_bad = 1'b1;
      if (32'(op_wrows) > EngWRowsU) op_bad = 1'b1;
      if (op_ext ? (ExtMem == 0) : (32'(op_wbase) + 32'(op_wrows) > WRowsU)) op_bad = 1'b1;
      if (32'(op_thbase) + 32'(groups) > ThRowsU) op_bad = 1'b1;
      if (32'(op_src) >= SlotsU || 32'(op_dst) >= SlotsU || 32'(op_rsl) >= SlotsU)
        op_bad = 1'b1;
      if (op_attn == 2'd3) op_bad = 1'b1;
      // A Q op needs heads the block has and a threshold its counters can reach; masks are
      // used by exactly one K op of the same shape.
      if (op_attn == AttnQ) begin
        if (at_qdone_q) op_bad = 1'b1;
        if (!op_amode && (op_heads == '0 || op_heads > 4'd8 || 32'(op_heads) > 32'(op_cout)
                          || 32'(op_theta) >= (32'd1 << AtChW))) op_bad = 1'b1;
        if (op_amode && 32'(op_theta) >= (32'd1 << (SlotW + 1))) op_bad = 1'b1;
      end
      if (op_attn == AttnK && (!at_qdone_q || op_cout != at_cout_q || res_h != at_h_q
                               || res_w != at_w_q)) op_bad = 1'b1;
    end
  end

  // Token heads must split the channels evenly: cout = heads x group, found by adding.
  logic at_split_bad;
  assign at_split_bad = (state_q == SAttn) & (at_acc_q > {1'b0, op_cout});

  // Memory-to-stream reader shared by every load phase: one read per cycle when the sink takes.
  // A phase walks a rows x cols rectangle; the linear address counts alongside, so no multiplier
  // is needed for map sizes.
  logic [31:0] rd_cnt_q;
  logic [15:0] rd_x_q, rd_cols;
  logic [5:0]  rd_y_q, rd_rows;
  logic        rd_valid_q, rd_issue, rd_sink_ready, rd_phase, rd_end, rd_all_q;

  assign rd_phase = (state_q == SLoadIn) | ((state_q == SLoadW) & ~op_ext) | (state_q == SLoadTh)
                  | (state_q == SLoadRes) | (state_q == SClsIn);
  assign rd_issue = rd_phase & ~rd_all_q & (~rd_valid_q | rd_sink_ready);
  assign rd_end   = rd_phase & rd_all_q & (~rd_valid_q | rd_sink_ready);

  always_comb begin
    rd_rows = 6'd1;
    rd_cols = 16'd1;
    if (state_q == SLoadIn || state_q == SClsIn) begin
      rd_rows = op_h;
      rd_cols = 16'(op_w);
    end else if (state_q == SLoadW) begin
      rd_cols = op_wrows;
    end else if (state_q == SLoadTh) begin
      rd_cols = 16'(groups);
    end else if (state_q == SLoadRes) begin
      rd_rows = res_h;
      rd_cols = 16'(res_w);
    end
  end

  assign map_re    = rd_issue
                   & ((state_q == SLoadIn) | (state_q == SLoadRes) | (state_q == SClsIn));
  logic [1:0] rd_slot;
  assign rd_slot   = (state_q == SLoadRes) ? op_rsl : op_src;
  assign map_raddr = {rd_slot[SelW-1:0], rd_cnt_q[SlotW-1:0]};
  assign wst_re    = rd_issue & (state_q == SLoadW);
  assign wst_raddr = WAW'(32'(op_wbase) + rd_cnt_q);
  assign th_re     = rd_issue & (state_q == SLoadTh);
  assign th_raddr  = ThAW'(32'(op_thbase) + rd_cnt_q);

  // The counters restart at every phase end: load phases follow each other directly.
  logic [ClsPosW-1:0] rd_pos_q;
  always_ff @(posedge clk_i) begin
    if (rst_i || !rd_phase || rd_end) begin
      rd_cnt_q   <= '0;
      rd_x_q     <= '0;
      rd_y_q     <= '0;
      rd_valid_q <= 1'b0;
      // An empty rectangle has nothing to read.
      rd_all_q   <= 1'b0;
    end else begin
      rd_valid_q <= rd_issue | (rd_valid_q & ~rd_sink_ready);
      if (rd_cols == '0 || rd_rows == '0) rd_all_q <= 1'b1;
      if (rd_issue) begin
        rd_cnt_q <= rd_cnt_q + 32'd1;
        rd_pos_q <= ClsPosW'(rd_cnt_q);
        if (rd_x_q == rd_cols - 16'd1) begin
          rd_x_q <= '0;
          rd_y_q <= rd_y_q + 6'd1;
          if (rd_y_q == rd_rows - 6'd1) rd_all_q <= 1'b1;
        end else begin
          rd_x_q <= rd_x_q + 16'd1;
        end
      end
    end
  end

  // -----------------------------------------------------------------------------------------
  // External weights: an op marked external reads its weight rows over AXI4 from EXT_BASE +
  // 4 KiB x (row field), rows packed back to back, in INCR bursts that never cross 4 KiB
  // (the op's start is 4 KiB aligned and every full burst divides 4 KiB). Beats fill a row
  // register from the top, so beat 0 ends in the lowest bits; the engine takes the row when
  // it is complete.
  // -----------------------------------------------------------------------------------------
  localparam int ExtBeatW = (ExtBeats > 1) ? $clog2(ExtBeats) : 1;
  localparam logic [31:0] ExtBurstBytes = ExtBurst * ExtBytes;
  localparam logic [23:0] ExtBurstU     = 24'(ExtBurst);
  localparam logic [31:0] ExtBytesU     = ExtBytes;
  localparam logic [31:0] ExtLastBeat   = ExtBeats - 1;

  logic [31:0]         ar_addr_q;    // next burst's address
  logic [23:0]         ar_left_q;    // beats not yet requested
  logic [ExtBeatW:0]   ext_set_q;    // rows x beats is summed over ExtBeats cycles
  logic                ar_valid_q;
  logic [31:0]         ar_out_addr_q;
  logic [7:0]          ar_out_len_q;
  logic [RowW-1:0]     ext_row_q;
  logic                ext_full_q;   // ext_row_q holds a complete row for the engine
  logic [ExtBeatW-1:0] ext_beat_q;
  logic [15:0]         ext_rows_q;   // rows handed to the engine
  logic                ext_err_q;    // a read came back with an error response this inference
  logic                ext_load, ar_issue, r_take, ext_done;
  logic                e_w_ready;    // the conv engine takes a weight row
  logic [23:0]         ar_beats;     // beats of the burst being issued

  assign ext_load = (state_q == SLoadW) & op_ext;
  assign ar_beats = (ar_left_q > ExtBurstU) ? ExtBurstU : ar_left_q;
  assign ar_issue = ext_load & (ar_left_q != '0) & (~ar_valid_q | m_axi_arready);
  assign r_take   = m_axi_rvalid & m_axi_rready;
  assign ext_done = ext_load & (ext_rows_q == op_wrows) & ~ext_full_q;

  assign m_axi_arid    = 1'b0;
  assign m_axi_araddr  = ar_out_addr_q;
  assign m_axi_arlen   = ar_out_len_q;
  assign m_axi_arsize  = 3'($clog2(ExtBytes));
  assign m_axi_arburst = 2'b01;    // INCR
  assign m_axi_arcache = 4'b0011;  // normal, non-cacheable, bufferable
  assign m_axi_arprot  = 3'b000;   // unprivileged, secure, data
  assign m_axi_arvalid = ar_valid_q;
  assign m_axi_rready  = ext_load & ~ext_full_q;

  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      ar_valid_q <= 1'b0;
      ext_full_q <= 1'b0;
      ext_beat_q <= '0;
      ext_err_q  <= 1'b0;
    end else begin
      if (ar_issue) begin
        ar_valid_q    <= 1'b1;
        ar_out_addr_q <= ar_addr_q;
        ar_out_len_q  <= 8'(ar_beats - 24'd1);
        ar_addr_q     <= ar_addr_q + ExtBurstBytes;
        ar_left_q     <= ar_left_q - ar_beats;
      end else if (m_axi_arready) begin
        ar_valid_q <= 1'b0;
      end
      if (r_take) begin
        ext_row_q <= (ExtBeats > 1) ? {m_axi_rdata, ext_row_q[RowW-1:ExtDataW]}
                                    : RowW'(m_axi_rdata);
        if (m_axi_rresp != 2'b00) ext_err_q <= 1'b1;  // SLVERR, DECERR (or a stray EXOKAY)
        if (32'(ext_beat_q) == ExtLastBeat) begin
          ext_beat_q <= '0;
          ext_full_q <= 1'b1;
        end else begin
          ext_beat_q <= ext_beat_q + 1'b1;
        end
      end
      if (ext_full_q && e_w_ready && state_q == SLoadW) begin
        ext_full_q <= 1'b0;
        ext_rows_q <= ext_rows_q + 16'd1;
      end
      // Set-up while the input map loads: the address, and rows x beats by repeated addition.
      if (state_q == SLoadIn) begin
        ar_addr_q  <= {ext_base[31:12] + {4'd0, op_wbase}, 12'd0};
        ar_left_q  <= '0;
        ext_set_q  <= '0;
        ext_rows_q <= '0;
      end
      if (state_q == SExtSet) begin
        ar_left_q <= ar_left_q + 24'(op_wrows);
        ext_set_q <= ext_set_q + 1'b1;
      end
      if (state_q == SIdle && csr_start) ext_err_q <= 1'b0;
    end
  end

  // -----------------------------------------------------------------------------------------
  // Convolution engine
  // -----------------------------------------------------------------------------------------
  logic            e_cfg_ready, e_in_ready, e_th_ready, e_res_ready, e_start_ready;
  logic            e_out_valid, e_out_ready, e_out_last, e_busy, e_done;
  logic [MaxC-1:0] e_out_data;
  logic [31:0]     e_cycles, e_events, e_active, e_stall, e_fwd;

  conv_layer #(
    .Lanes    (Lanes),
    .MaxCin   (MaxC),
    .MaxCout  (MaxC),
    .MaxH     (MaxSide),
    .MaxW     (MaxSide),
    .AccW     (AccW),
    .WDepth   (EngWRows),
    .FifoDepth(FifoDepth)
  ) u_conv (
    .clk_i        (clk_i),
    .rst_i        (rst_i),
    .cfg_valid_i  (state_q == SCfg),
    .cfg_ready_o  (e_cfg_ready),
    .cfg_data_i   (op_desc),
    .in_valid_i   (rd_valid_q & (state_q == SLoadIn)),
    .in_ready_o   (e_in_ready),
    .in_data_i    (map_rdata),
    .w_valid_i    ((op_ext ? ext_full_q : rd_valid_q) & (state_q == SLoadW)),
    .w_ready_o    (e_w_ready),
    .w_data_i     (op_ext ? ext_row_q : wst_rdata),
    .th_valid_i   (rd_valid_q & (state_q == SLoadTh)),
    .th_ready_o   (e_th_ready),
    .th_data_i    (th_rdata),
    .res_valid_i  (rd_valid_q & (state_q == SLoadRes)),
    .res_ready_o  (e_res_ready),
    .res_data_i   (map_rdata),
    .start_valid_i(state_q == SStart),
    .start_ready_o(e_start_ready),
    .out_valid_o  (e_out_valid),
    .out_ready_i  (e_out_ready),
    .out_data_o   (e_out_data),
    .out_last_o   (e_out_last),
    .busy_o       (e_busy),
    .done_o       (e_done),
    .perf_cycles_o(e_cycles),
    .perf_events_o(e_events),
    .perf_active_o(e_active),
    .perf_stall_o (e_stall),
    .perf_fwd_o   (e_fwd)
  );

  // Output words pass the attention stage on their way into their slot (one register; the
  // store never stalls, so neither does the engine). Words of ops without attention pass as
  // they are.
  logic [SlotW-1:0] wb_idx_q;
  logic             eng_fin_q;  // the engine has handed over the op's last word
  logic             a_in_ready, a_out_valid, a_out_last, a_rst;
  logic [MaxC-1:0]  a_out_word;
  logic [SlotW-1:0] a_out_pos;
  logic [1:0]       a_out_role;

  assign e_out_ready = (state_q == SRun) & a_in_ready;

  qk_attention #(
    .Channels(MaxC),
    .PosW    (SlotW),
    .MaxHeads(8)
  ) u_attn (
    .clk_i          (clk_i),
    .rst_i          (a_rst),
    .cfg_channel_i  (at_mode_q),
    .cfg_heads_i    (at_heads_q),
    .cfg_group_i    (at_group_q),
    .cfg_theta_tok_i(at_theta_q[AtChW-1:0]),
    .cfg_theta_ch_i (at_theta_q[SlotW:0]),
    .in_valid_i     (e_out_valid & (state_q == SRun)),
    .in_ready_o     (a_in_ready),
    .in_word_i      (e_out_data),
    .in_pos_i       (wb_idx_q),
    .in_role_i      (op_attn),
    .in_last_i      (e_out_last),
    .out_valid_o    (a_out_valid),
    .out_ready_i    (1'b1),
    .out_word_o     (a_out_word),
    .out_pos_o      (a_out_pos),
    .out_role_o     (a_out_role),
    .out_last_o     (a_out_last)
  );

  assign map_we_seq    = a_out_valid & op_dst_en;
  assign map_waddr_seq = {op_dst[SelW-1:0], a_out_pos};
  assign map_wdata_seq = a_out_word;

  // -----------------------------------------------------------------------------------------
  // W2TTFS and classifier
  // -----------------------------------------------------------------------------------------
  logic                 c_word_ready, c_wt_ready, c_bias_ready;
  logic                 c_res_valid, c_res_ready, c_res_last;
  logic [ClsW-1:0]      c_res_cls, c_res_pred;
  logic [ClsAccW-1:0]   c_res_logit;

  w2ttfs_classifier #(
    .Channels (MaxC),
    .MaxHwLog2(ClsHwLog2),
    .MaxWin   (1),
    .Classes  (Classes),
    .WeightW  (8),
    .AccW     (ClsAccW)
  ) u_cls (
    .clk_i        (clk_i),
    .rst_i        (rst_i),
    .cfg_hw_log2_i(op_hwl),
    .cfg_ws_log2_i(op_wsl),
    .word_valid_i (rd_valid_q & (state_q == SClsIn)),
    .word_ready_o (c_word_ready),
    .word_i       (map_rdata),
    .word_pos_i   (rd_pos_q),
    .wt_valid_i   (clsw_we),
    .wt_ready_o   (c_wt_ready),
    .wt_addr_i    (ClsAW'(dest_row)),
    .wt_row_i     (clsrow_next),
    .bias_valid_i (bias_we),
    .bias_ready_o (c_bias_ready),
    .bias_cls_i   (ClsW'(pl_index)),
    .bias_i       (pl_data[ClsAccW-1:0]),
    .res_valid_o  (c_res_valid),
    .res_ready_i  (c_res_ready),
    .res_cls_o    (c_res_cls),
    .res_logit_o  (c_res_logit),
    .res_pred_o   (c_res_pred),
    .res_last_o   (c_res_last)
  );

  assign rd_sink_ready = (state_q == SLoadIn)  ? e_in_ready :
                         (state_q == SLoadW)   ? e_w_ready :
                         (state_q == SLoadTh)  ? e_th_ready :
                         (state_q == SLoadRes) ? e_res_ready :
                         (state_q == SClsIn)   ? c_word_ready : 1'b0;

  // Output packet: the class first, then the logits.
  logic hdr_sent_q;
  assign m_axis_tvalid = (state_q == SClsOut) & c_res_valid;
  assign m_axis_tdata  = hdr_sent_q ? {{(32 - ClsAccW){c_res_logit[ClsAccW-1]}}, c_res_logit}
                                    : 32'(c_res_pred);
  assign m_axis_tlast  = hdr_sent_q & c_res_last;
  assign c_res_ready   = (state_q == SClsOut) & hdr_sent_q & m_axis_tready;

  // -----------------------------------------------------------------------------------------
  // Sequencer state machine
  // -----------------------------------------------------------------------------------------
  assign prog_re    = (state_q == SFetch) & (fetch_q != 3'd4);
  assign prog_raddr = ProgAW'({pc_q, 2'b00} + ($clog2(ProgOps + 1) + 2)'(fetch_q));

  // A program must end with the classifier; running off its end is an error.
  logic run_off_end;
  assign run_off_end = (state_q == SRun) & a_out_valid & a_out_last
                     & (32'(pc_q) + 32'd1 >= 32'(prog_len_q));

  // A read error surfaces when its op has finished, so that the engine is idle again.
  logic ext_fail;
  assign ext_fail = (state_q == SRun) & a_out_valid & a_out_last & ext_err_q;

  logic fail;           // raise an error and stop
  logic [3:0] fail_code;

  always_comb begin
    fail = 1'b0;
    fail_code = '0;
    if (csr_start && busy_q) begin
      fail = 1'b1;
      fail_code = ErrBusy;
    end else if (csr_start && (!prog_ok_q || !image_ok_q)) begin
      fail = 1'b1;
      fail_code = ErrNoPrg;
    end else if ((state_q == SDecode && op_bad) || at_split_bad) begin
      fail = 1'b1;
      fail_code = ErrDesc;
    end else if (pkt_done && !pkt_ok) begin
      fail = 1'b1;
      fail_code = pkt_err;
    end else if (pkt_done && pkt_range_err) begin
      fail = 1'b1;
      fail_code = ErrRange;
    end else if (run_off_end) begin
      fail = 1'b1;
      fail_code = ErrDesc;
    end else if (ext_fail) begin
      fail = 1'b1;
      fail_code = ErrExt;
    end
  end

  // Each inference starts with no attention state: masks of an aborted run are forgotten.
  assign a_rst = rst_i | ((state_q == SIdle) & csr_start & ~fail);

  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      state_q    <= SIdle;
      busy_q     <= 1'b0;
      done_q     <= 1'b0;
      err_q      <= 1'b0;
      err_code_q <= '0;
      class_q    <= '0;
      pc_q       <= '0;
      hdr_sent_q <= 1'b0;
      at_qdone_q <= 1'b0;
    end else begin
      if (csr_clear) begin
        done_q     <= 1'b0;
        err_q      <= 1'b0;
        err_code_q <= '0;
      end
      if (fail && !err_q) begin
        err_q      <= 1'b1;
        err_code_q <= fail_code;
      end
      if (busy_q) perf_cycles_q <= perf_cycles_q + 32'd1;

      case (state_q)
        SIdle: begin
          if (csr_start && !fail) begin
            busy_q        <= 1'b1;
            done_q        <= 1'b0;
            pc_q          <= '0;
            fetch_q       <= '0;
            got_q         <= '0;
            perf_cycles_q <= '0;
            perf_events_q <= '0;
            perf_active_q <= '0;
            perf_stalls_q <= '0;
            perf_fwd_q    <= '0;
            at_qdone_q    <= 1'b0;
            state_q       <= SFetch;
          end
        end
        SFetch: begin
          if (fetch_q != 3'd4) fetch_q <= fetch_q + 3'd1;
          if (fetch_q != 3'd0) begin
            op_q[got_q[1:0]] <= prog_rdata;
            got_q <= got_q + 3'd1;
            if (got_q == 3'd3) state_q <= SDecode;
          end
        end
        SDecode: begin
          if (op_bad) begin
            busy_q  <= 1'b0;
            state_q <= SIdle;
          end else if (op_cls) begin
            state_q <= SClsIn;
          end else if (op_attn == AttnQ) begin
            at_mode_q  <= op_amode;
            at_heads_q <= op_amode ? 4'd1 : op_heads;
            at_theta_q <= AtThW'(op_theta);
            at_cout_q  <= op_cout;
            at_h_q     <= res_h;
            at_w_q     <= res_w;
            at_group_q <= '0;
            at_acc_q   <= '0;
            state_q    <= SAttn;
          end else begin
            state_q <= SCfg;
          end
        end
        SAttn: begin
          if (at_split_bad) begin
            busy_q  <= 1'b0;
            state_q <= SIdle;
          end else if (at_acc_q == {1'b0, op_cout}) begin
            state_q <= SCfg;
          end else begin
            at_acc_q   <= at_acc_q + 11'(at_heads_q);
            at_group_q <= at_group_q + 1'b1;
          end
        end
        SCfg:     if (e_cfg_ready) state_q <= SLoadIn;
        SLoadIn:  if (rd_end) state_q <= op_ext ? SExtSet : SLoadW;
        SExtSet:  if (32'(ext_set_q) == ExtLastBeat) state_q <= SLoadW;
        SLoadW:   if (op_ext ? ext_done : rd_end) state_q <= SLoadTh;
        SLoadTh:  if (rd_end) state_q <= op_res ? SLoadRes : SStart;
        SLoadRes: if (rd_end) state_q <= SStart;
        SStart: begin
          wb_idx_q  <= '0;
          eng_fin_q <= 1'b0;
          if (e_start_ready) state_q <= SRun;
        end
        SRun: begin
          if (e_out_valid && e_out_ready) begin
            wb_idx_q <= wb_idx_q + 1'b1;
            if (e_out_last) begin
              eng_fin_q     <= 1'b1;
              perf_events_q <= perf_events_q + e_events;
              perf_active_q <= perf_active_q + e_active;
              perf_stalls_q <= perf_stalls_q + e_stall;
              perf_fwd_q    <= perf_fwd_q + e_fwd;
            end
          end
          // The op ends when its last word has left the attention stage.
          if (a_out_valid && a_out_last) begin
            if (a_out_role == AttnQ) at_qdone_q <= 1'b1;
            if (a_out_role == AttnK) at_qdone_q <= 1'b0;
            pc_q    <= pc_q + 1'b1;
            fetch_q <= '0;
            got_q   <= '0;
            state_q <= SFetch;
            if (run_off_end || ext_fail) begin
              busy_q  <= 1'b0;
              state_q <= SIdle;
            end
          end
        end
        SClsIn: begin
          hdr_sent_q <= 1'b0;
          if (rd_end) state_q <= SClsOut;
        end
        SClsOut: begin
          if (m_axis_tvalid && m_axis_tready) begin
            if (!hdr_sent_q) begin
              hdr_sent_q <= 1'b1;
              class_q    <= 32'(c_res_pred);
            end else if (c_res_last) begin
              busy_q  <= 1'b0;
              done_q  <= 1'b1;
              state_q <= SIdle;
            end
          end
        end
        default: state_q <= SIdle;
      endcase
    end
  end

  assign busy_o  = busy_q;
  assign done_o  = done_q;
  assign error_o = err_q;
  assign irq_o   = irq_en & (done_q | err_q);


`ifndef SYNTHESIS
  initial begin
    if (Lanes % 4 != 0 || (Lanes & (Lanes - 1)) != 0) begin
      $fatal(1, "neural_top: Lanes must be a power of two >= 4, got %0d", Lanes);
    end
    if (MaxC % Lanes != 0) $fatal(1, "neural_top: MaxC must be a multiple of Lanes");
    if (MaxC < 24) $fatal(1, "neural_top: MaxC must hold 3 pixel channels of 8 bits");
    if (Slots != 2 && Slots != 4) $fatal(1, "neural_top: Slots must be 2 or 4, got %0d", Slots);
    if (ExtDataW < 32 || ExtDataW > 1024 || (ExtDataW & (ExtDataW - 1)) != 0
        || RowW % ExtDataW != 0) begin
      $fatal(1, "neural_top: ExtDataW %0d must be a power of two 32..1024 dividing %0d-bit rows",
             ExtDataW, RowW);
    end
  end

  always @(posedge clk_i) begin
    if (!rst_i) begin
      assert (!(clsw_we && !c_wt_ready)) else $fatal(1, "neural_top: classifier weight write lost");
      assert (!(bias_we && !c_bias_ready)) else $fatal(1, "neural_top: classifier bias write lost");
      // The sequencer follows the engine's output stream; its status must agree.
      assert (!(e_done && state_q != SRun)) else $fatal(1, "neural_top: engine done outside a run");
      assert (!(state_q == SRun && !e_busy && !eng_fin_q))
        else $fatal(1, "neural_top: engine idle in a run");
      // Every op's words leave the attention stage before the next op starts.
      assert (!(a_out_valid && state_q != SRun))
        else $fatal(1, "neural_top: write-back word outside a run");
      assert (!(e_done && e_cycles == '0)) else $fatal(1, "neural_top: engine reports no cycles");
      if (c_res_valid && c_res_ready && !hdr_sent_q) begin
        assert (c_res_cls == '0) else $fatal(1, "neural_top: logits must start at class 0");
      end
    end
  end

  // The AXI4 read port: bursts stay inside 4 KiB, hold still until taken, and the data comes
  // back with rlast exactly at each burst's end; no beat arrives that was not asked for.
  logic [23:0] r_total_q, r_seen_q;
  logic [8:0]  r_in_burst_q;
  always @(posedge clk_i) begin
    if (rst_i) begin
      r_seen_q     <= '0;
      r_in_burst_q <= '0;
    end else begin
      if (state_q == SExtSet) begin
        r_total_q <= ar_left_q + 24'(op_wrows);
        r_seen_q  <= '0;
      end
      if (ar_issue) begin
        assert (32'(ar_addr_q[11:0]) + 32'(ar_beats) * ExtBytesU <= 32'd4096)
          else $fatal(1, "neural_top: AXI burst at %h crosses 4 KiB", ar_addr_q);
      end
      if (m_axi_arvalid && !m_axi_arready) begin
        assert (ar_issue == 1'b0) else $fatal(1, "neural_top: AR changed before it was taken");
      end
      if (r_take) begin
        assert (r_seen_q < r_total_q) else $fatal(1, "neural_top: AXI beat not asked for");
        assert (m_axi_rid == 1'b0) else $fatal(1, "neural_top: read data with ID %0d", m_axi_rid);
        assert (m_axi_rlast == (24'(r_in_burst_q) == ExtBurstU - 24'd1
                                || r_seen_q + 24'd1 == r_total_q))
          else $fatal(1, "neural_top: rlast at beat %0d of a burst", r_in_burst_q);
        r_seen_q     <= r_seen_q + 24'd1;
        r_in_burst_q <= m_axi_rlast ? '0 : r_in_burst_q + 9'd1;
      end
    end
  end
`endif

endmodule : neural_top

`default_nettype wire
